#pragma once

// Runs one node of a graph on the CUDA backend by calling its kernels directly (no executor
// around them): the benchmark's way to time an op's forward and backward passes as launched by
// the backend, with inputs, state, outputs, saved tensors and gradients allocated once.

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/backend.hpp"
#include "myelin/graph.hpp"

namespace myelin::bench {

class OpRunner {
 public:
  // The graph's last node, its inputs filled with values drawn from `seed` (integer inputs with
  // class indices below `classes`).
  OpRunner(ExecutionBackend& backend, Graph& graph, std::uint64_t seed, std::int64_t classes = 10);

  void forward();
  // Every output gradient is the same fixed tensor; every floating input takes a gradient.
  void backward();
  void synchronize() { backend_.synchronize(); }

  // Bytes of the node's tensors, as a model of what a pass must move at least.
  std::size_t input_bytes(bool floating_only) const;
  std::size_t output_bytes() const;
  std::size_t saved_bytes() const;

 private:
  OpContext context(bool with_grads);

  ExecutionBackend& backend_;
  const Node* node_ = nullptr;
  std::vector<Tensor> inputs_, outputs_, saved_, state_, grad_outputs_, grad_inputs_;
  std::vector<bool> floating_;
};

}  // namespace myelin::bench
