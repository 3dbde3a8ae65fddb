#include "engine/pipeline_app.h"

int main(int argc, char** argv) { return ef::engine::pipeline_main(argc, argv); }
