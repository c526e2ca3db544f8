// The optimizer update on the CPU path: one pass over each parameter that reads its gradient and
// state once, with the rule and its slot options fixed at compile time so that the loop has no
// branch on them and vectorises. It computes in the parameter's type (float for float
// parameters, as the CUDA kernel does) with the shared per-element rules. Elementwise, so the
// bits do not depend on the thread count.
#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {

// One parameter's update, for the rule and options with_update_rule picks. A slot the rule does
// not use is a local, not memory.
template <typename T>
struct ParameterUpdate {
  const UpdateConstants<T>& k;
  Tensor& w;
  const Tensor& g;
  Tensor* const* slots;

  template <UpdateRule R, bool kS1, bool kS2>
  void operator()() const {
    constexpr bool kS0 = R != UpdateRule::kSgd;
    constexpr bool kS1Used = kS1 || R == UpdateRule::kAdam;  // exp_avg_sq
    T* __restrict wp = w.data<T>();
    const T* __restrict gp = g.data<T>();
    T* __restrict s0 = kS0 ? slot(0) : nullptr;
    T* __restrict s1 = kS1Used ? slot(1) : nullptr;
    T* __restrict s2 = kS2 ? slot(2) : nullptr;
    const UpdateConstants<T> c = k;
    parallel_for(w.numel(), [=](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        T a = kS0 ? s0[i] : T(0);
        T b = kS1Used ? s1[i] : T(0);
        T d = kS2 ? s2[i] : T(0);
        T wi = wp[i];
        update_element_by<R, kS1, kS2>(c, wi, gp[i], a, b, d);
        wp[i] = wi;
        if constexpr (kS0) s0[i] = a;
        if constexpr (kS1Used) s1[i] = b;
        if constexpr (kS2) s2[i] = d;
      }
    });
  }

  T* slot(int s) const {
    if (slots[s] == nullptr) fail("optimizer update: state slot ", s, " is missing");
    return slots[s]->data<T>();
  }
};

}  // namespace

void optimizer_update(const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3]) {
  if (w.dtype() == DType::kFloat64) {
    with_update_rule(k, ParameterUpdate<double>{k, w, g, slots});
  } else {
    const UpdateConstants<float> kf = constants_as<float>(k);
    with_update_rule(kf, ParameterUpdate<float>{kf, w, g, slots});
  }
}

}  // namespace myelin::cpu
