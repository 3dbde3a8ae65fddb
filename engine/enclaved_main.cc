#include "engine/enclaved_app.h"

int main(int argc, char** argv) { return ef::engine::enclaved_main(argc, argv); }
