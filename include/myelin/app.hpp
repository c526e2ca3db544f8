#pragma once

// The application layer (libmyelin_app, CMake target myelin::app), built on the library core:
// model specs and the sequential models they describe, their checkpoints, classification data
// sets from files with their splits and normalisation, error-analysis metrics, and generated
// data. The myelin tool is made of it.
#include "myelin/app/dataset.hpp"
#include "myelin/app/metrics.hpp"
#include "myelin/app/model_checkpoint.hpp"
#include "myelin/app/search.hpp"
#include "myelin/app/spec.hpp"
#include "myelin/app/spirals.hpp"
#include "myelin/myelin.hpp"
