// Hyper-parameter search spaces of a spec: parsing and checking the ranges, random trials, and
// the narrower space of a second round.
#include "myelin/app/search.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "myelin/philox.hpp"
#include "myelin/random.hpp"

namespace myelin {

namespace {

using Json = nlohmann::json;

// The field a path names in a spelled-out spec ("layers[3].p": layers, 3, p); null when there is
// none, with why in `why`.
Json* find_path(Json& root, const std::string& path, std::string& why) {
  Json* at = &root;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find('.', begin);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(begin, end - begin);
    std::vector<std::int64_t> indices;
    const std::size_t bracket = part.find('[');
    if (bracket != std::string::npos) {
      std::string rest = part.substr(bracket);
      part = part.substr(0, bracket);
      while (!rest.empty()) {
        const std::size_t close = rest.find(']');
        if (rest[0] != '[' || close == std::string::npos || close == 1) {
          why = "'" + path + "' is not a field path (like optimizer.lr or layers[3].p)";
          return nullptr;
        }
        try {
          std::size_t used = 0;
          const std::string digits = rest.substr(1, close - 1);
          indices.push_back(std::stoll(digits, &used));
          if (used != digits.size()) throw std::invalid_argument(digits);
        } catch (const std::exception&) {
          why = "'" + path + "' has an index that is not a number";
          return nullptr;
        }
        rest = rest.substr(close + 1);
      }
    }
    if (part.empty() || !at->is_object() || !at->contains(part)) {
      why = "'" + path + "' is not a field of this spec (spec.json spells out every field it uses)";
      return nullptr;
    }
    at = &(*at)[part];
    for (std::int64_t i : indices) {
      if (!at->is_array() || i < 0 || i >= static_cast<std::int64_t>(at->size())) {
        why = "'" + path + "': index " + std::to_string(i) + " is out of range";
        return nullptr;
      }
      at = &(*at)[static_cast<std::size_t>(i)];
    }
    begin = end + 1;
  }
  return at;
}

Json spelled_out(const ModelSpec& spec) {
  ModelSpec base = spec;
  base.search.clear();
  return Json::parse(model_spec_json(base));
}

const char* kind_name(SearchDimension::Kind kind) {
  switch (kind) {
    case SearchDimension::Kind::kLogUniform:
      return "log_uniform";
    case SearchDimension::Kind::kChoice:
      return "choice";
    case SearchDimension::Kind::kUniform:
      break;
  }
  return "uniform";
}

std::string number_json(double v, bool integer) {
  return integer ? Json(static_cast<std::int64_t>(std::llround(v))).dump() : Json(v).dump();
}

}  // namespace

std::string SearchSpace::json() const {
  Json out = Json::object();
  for (const SearchDimension& d : dimensions) {
    Json range = Json::array();
    if (d.kind == SearchDimension::Kind::kChoice) {
      for (const std::string& c : d.choices) range.push_back(Json::parse(c));
    } else {
      range = {d.low, d.high};
    }
    out[d.path] = {{kind_name(d.kind), range}};
  }
  return out.dump();
}

SearchSpace parse_search(const ModelSpec& spec, const std::string& source) {
  SearchSpace space;
  if (spec.search.empty()) return space;
  Json base = spelled_out(spec);
  const Json search = Json::parse(spec.search);
  auto error = [&](const std::string& path, const std::string& what) {
    throw SpecError(source + ": search." + path + ": " + what);
  };
  if (!search.is_object() || search.empty()) {
    throw SpecError(source +
                    ": search: expected an object of field paths and ranges, like "
                    "{\"optimizer.lr\": {\"log_uniform\": [1e-4, 1e-1]}}");
  }
  for (const auto& [path, range] : search.items()) {
    std::string why;
    const Json* field = find_path(base, path, why);
    if (field == nullptr) error(path, why);
    if (!range.is_object() || range.size() != 1) {
      error(path,
            "expected one of {\"log_uniform\": [low, high]}, {\"uniform\": [low, high]} "
            "or {\"choice\": [values]}");
    }
    SearchDimension d;
    d.path = path;
    const std::string kind = range.begin().key();
    const Json& v = range.begin().value();
    if (kind == "choice") {
      d.kind = SearchDimension::Kind::kChoice;
      if (!v.is_array() || v.empty()) error(path, "choice: expected a non-empty list of values");
      for (const Json& c : v) d.choices.push_back(c.dump());
    } else if (kind == "log_uniform" || kind == "uniform") {
      d.kind = kind == "log_uniform" ? SearchDimension::Kind::kLogUniform
                                     : SearchDimension::Kind::kUniform;
      if (!field->is_number()) {
        error(path, kind + " needs a numeric field; this one is " + field->dump() +
                        " (a choice lists values of any kind)");
      }
      if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) {
        error(path, kind + ": expected [low, high]");
      }
      d.low = v[0].get<double>();
      d.high = v[1].get<double>();
      d.integer = field->is_number_integer();
      if (!(d.low < d.high)) error(path, kind + ": low must be below high");
      if (d.kind == SearchDimension::Kind::kLogUniform && !(d.low > 0.0)) {
        error(path, "log_uniform: the range must be positive (its logarithm is sampled)");
      }
    } else {
      error(path, "unknown range '" + kind + "' (log_uniform, uniform or choice)");
    }
    space.dimensions.push_back(d);
  }
  // Every value the space can give must make a valid spec: its bounds and choices are tried.
  for (std::size_t i = 0; i < space.dimensions.size(); ++i) {
    const SearchDimension& d = space.dimensions[i];
    std::vector<std::string> candidates = d.choices;
    if (d.kind != SearchDimension::Kind::kChoice) {
      candidates = {number_json(d.low, d.integer), number_json(d.high, d.integer)};
    }
    for (const std::string& c : candidates) {
      Json trial = base;
      std::string why;
      *find_path(trial, d.path, why) = Json::parse(c);
      try {
        parse_model_spec(trial.dump(), source);
      } catch (const SpecError& e) {
        error(d.path, c + " makes an invalid spec: " + e.what());
      }
    }
  }
  return space;
}

std::vector<std::string> sample_search(const SearchSpace& space, std::uint64_t seed,
                                       std::int64_t trial) {
  Rng rng(seed, stable_id("search"), static_cast<std::uint64_t>(trial));
  std::vector<std::string> values;
  for (const SearchDimension& d : space.dimensions) {
    switch (d.kind) {
      case SearchDimension::Kind::kChoice:
        values.push_back(d.choices[rng.below(d.choices.size())]);
        break;
      case SearchDimension::Kind::kLogUniform:
        values.push_back(
            number_json(std::exp(rng.uniform(std::log(d.low), std::log(d.high))), d.integer));
        break;
      case SearchDimension::Kind::kUniform:
        values.push_back(number_json(rng.uniform(d.low, d.high), d.integer));
        break;
    }
  }
  return values;
}

ModelSpec apply_search(const ModelSpec& spec, const SearchSpace& space,
                       const std::vector<std::string>& values, const std::string& source) {
  if (values.size() != space.dimensions.size()) {
    throw SpecError(source + ": " + std::to_string(values.size()) + " values for a search of " +
                    std::to_string(space.dimensions.size()) + " dimensions");
  }
  Json trial = spelled_out(spec);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::string why;
    Json* field = find_path(trial, space.dimensions[i].path, why);
    if (field == nullptr) throw SpecError(source + ": " + why);
    *field = Json::parse(values[i]);
  }
  return parse_model_spec(trial.dump(), source);
}

SearchSpace narrow_search(const SearchSpace& space,
                          const std::vector<std::vector<std::string>>& best) {
  if (best.empty()) return space;
  SearchSpace out = space;
  for (std::size_t i = 0; i < out.dimensions.size(); ++i) {
    SearchDimension& d = out.dimensions[i];
    if (d.kind == SearchDimension::Kind::kChoice) {
      std::vector<std::string> used;
      for (const std::string& c : d.choices) {
        for (const auto& values : best) {
          if (values[i] == c && std::find(used.begin(), used.end(), c) == used.end()) {
            used.push_back(c);
          }
        }
      }
      d.choices = used;
      continue;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& values : best) {
      const double v = Json::parse(values[i]).get<double>();
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (d.kind == SearchDimension::Kind::kLogUniform) {
      lo /= 2.0;
      hi *= 2.0;
    } else {
      const double margin = 0.1 * (d.high - d.low);
      lo -= margin;
      hi += margin;
    }
    d.low = std::max(d.low, lo);
    d.high = std::min(d.high, hi);
  }
  return out;
}

}  // namespace myelin
