// Engine options for tests: a configuration written to a temporary folder, the database beside it.
#pragma once

#include "support/temp_dir.hpp"

#include "opex/engine.hpp"

#include <fstream>
#include <memory>
#include <string>

namespace opex::test {

/// Writes `yaml` to dir/opex.yml (relative paths in it start there) and returns options using
/// it, with the database dir/opex.db and `time` as the clock (null: the system clock).
inline engine_options options_with_yaml(const temp_dir& dir, const std::string& yaml,
                                        std::shared_ptr<const clock> time = nullptr) {
  std::ofstream(dir.file("opex.yml")) << yaml;
  engine_options o;
  o.config_path = dir.file("opex.yml");
  o.database = dir.file("opex.db");
  o.time = std::move(time);
  return o;
}

} // namespace opex::test
