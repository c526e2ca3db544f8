// The optimizer update on the CPU reference path: the shared per-element rules in double,
// whatever the storage type.
#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {
template <typename T>
void update_typed(const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                  Tensor* const slots[3]) {
  T* wp = w.data<T>();
  const T* gp = g.data<T>();
  T* sp[3];
  for (int s = 0; s < 3; ++s) sp[s] = slots[s] != nullptr ? slots[s]->data<T>() : nullptr;
  parallel_for(w.numel(), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      double wi = wp[i];
      double s[3];
      for (int k_slot = 0; k_slot < 3; ++k_slot) s[k_slot] = sp[k_slot] ? sp[k_slot][i] : 0.0;
      update_element(k, wi, static_cast<double>(gp[i]), s[0], s[1], s[2]);
      wp[i] = static_cast<T>(wi);
      for (int k_slot = 0; k_slot < 3; ++k_slot) {
        if (sp[k_slot]) sp[k_slot][i] = static_cast<T>(s[k_slot]);
      }
    }
  });
}
}  // namespace

void optimizer_update(const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3]) {
  if (w.dtype() == DType::kFloat64) {
    update_typed<double>(k, w, g, slots);
  } else {
    update_typed<float>(k, w, g, slots);
  }
}

}  // namespace myelin::cpu
