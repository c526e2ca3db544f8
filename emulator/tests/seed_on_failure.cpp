// Linked into every test program that runs on the emulated device: after a failed test it
// prints the schedule (seed and progress mode) that reproduces it, so that a failure under one
// of many seeds can be run again.
#include <gtest/gtest.h>

#include <iostream>

#include "myelin_emu/emulator.hpp"

namespace {

class ScheduleOnFailure : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result() == nullptr || !info.result()->Failed()) return;
    std::cout << "emulated device: " << info.test_suite_name() << "." << info.name()
              << " failed under " << myelin::emu::schedule_description()
              << " (set these to run it again the same way)\n";
  }
};

const bool kRegistered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new ScheduleOnFailure);
  return true;
}();

}  // namespace
