#pragma once

#include <string>
#include <vector>

namespace myelin {

// Edit distance (insertions, deletions, substitutions), for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, or "" when none is close enough to be a plausible typo.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

// The items separated by `separator`.
std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace myelin
