#pragma once

#include <string>

#include "myelin/export.hpp"

namespace myelin {

enum class DeviceKind : unsigned char { kCpu = 0, kCuda = 1 };

// Where a tensor lives. Devices are named by index; nothing in the library keeps a "current
// device", so two graphs on two devices can live in one process.
struct MYELIN_API Device {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;

  static Device cpu() { return Device{DeviceKind::kCpu, 0}; }
  static Device cuda(int index = 0) { return Device{DeviceKind::kCuda, index}; }
  bool is_cpu() const { return kind == DeviceKind::kCpu; }
  bool is_cuda() const { return kind == DeviceKind::kCuda; }
  std::string str() const;

  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

// Parses "cpu", "cuda" or "cuda:N"; throws myelin::Error otherwise.
MYELIN_API Device parse_device(const std::string& text);

}  // namespace myelin
