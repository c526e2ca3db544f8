#pragma once

// Makes a device current for the calling thread during a scope and restores the previous one,
// so that no call leaves a "current device" behind. Kernel launches and cuBLAS calls go to the
// current device's streams only. (No CUDA header: the executor holds one too.)

namespace myelin::cuda {

class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace myelin::cuda
