// myelin inspect FILE.safetensors: the metadata and, per tensor, its type, shape and a checksum
// of its bytes (64-bit FNV-1a), to compare checkpoints without loading them anywhere.
#include <cstdio>

#include "commands.hpp"
#include "myelin/app.hpp"

namespace myelin::cli {

int run_inspect(const Args& args) {
  if (args.size() != 1 || args[0].rfind("--", 0) == 0) {
    throw UsageError{"usage: myelin inspect FILE.safetensors"};
  }
  const SafeTensors file = read_safetensors(args[0]);
  for (const auto& [key, value] : file.metadata) {
    const std::string shown = value.size() > 60 ? value.substr(0, 57) + "..." : value;
    std::printf("# %s: %s\n", key.c_str(), shown.c_str());
  }
  static const char* const kTypes[] = {"F32", "F64", "I32", "I64", "U8"};
  for (const auto& [name, t] : file.tensors) {
    std::uint64_t hash = 1469598103934665603ull;
    const auto* p = static_cast<const unsigned char*>(t.raw());
    for (std::size_t i = 0; i < t.nbytes(); ++i) {
      hash ^= p[i];
      hash *= 1099511628211ull;
    }
    std::printf("%s %s %s %016llx\n", name.c_str(), kTypes[static_cast<int>(t.dtype())],
                t.shape().str().c_str(), static_cast<unsigned long long>(hash));
  }
  // A myelin checkpoint keeps its spec: the model it holds, layer by layer.
  const auto spec_text = file.metadata.find("spec");
  if (spec_text != file.metadata.end()) {
    const ModelSpec spec = parse_model_spec(spec_text->second, args[0] + " (its spec)");
    const SequentialModel model =
        build_model(spec, checkpoint_features(args[0], spec), spec.batch_size);
    std::printf("\n%s", model_summary(spec, model).c_str());
  }
  return 0;
}

}  // namespace myelin::cli
