#pragma once
// pipeline: the docker-like CLI over enclaved's API (see docs/pipeline.md).

namespace ef::engine {

int pipeline_main(int argc, char** argv);

}  // namespace ef::engine
