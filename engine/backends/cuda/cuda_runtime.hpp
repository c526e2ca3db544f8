#pragma once

// Host-side CUDA runtime services of the CUDA backend: device discovery, device memory from
// the stream-ordered allocator, copies, and turning CUDA status codes into myelin::Error.
// Only this backend's sources include CUDA headers; this header itself needs none.

#include <cstddef>
#include <string>

#include "myelin/device.hpp"

namespace myelin::cuda {

// CUDA runtime version this library was compiled against (CUDART_VERSION).
int runtime_version_built();
// Usable devices; 0 (with the reason in *why) when there is no driver or no device.
int device_count(std::string* why);
// Throws a clear myelin::Error unless `index` names a usable device.
void require_device(int index);

void* device_alloc(int index, std::size_t bytes);
void device_free(int index, void* ptr) noexcept;
void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);

}  // namespace myelin::cuda
