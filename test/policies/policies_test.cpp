// The Proxy Master's policies: autonomy, the high-risk rule, masking, retry delays.
#include "opex/config.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/policies/masking.hpp"
#include "opex/policies/retry_policy.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::policies;
namespace json = boost::json;

namespace {
struct reference_files {
  tool_catalogue catalogue;
  system_config system;
  autonomy_config autonomy;
};

const reference_files& ref() {
  static const reference_files r = [] {
    const std::string dir = OPEX_REFERENCE_DIR;
    reference_files out;
    out.catalogue = tool_catalogue::load_file(dir + "/rag/tools/tools.yml").value();
    out.system = system_config::load_file(dir + "/config/system.yml").value();
    out.autonomy = autonomy_config::load_file(dir + "/config/autonomy.yml").value();
    return out;
  }();
  return r;
}

tool_permission perm(const std::string& tool, int level) {
  return permission_for(*ref().catalogue.find(tool), level, ref().system, ref().autonomy);
}
} // namespace

TEST_CASE("autonomy_policy: reference tools at reference levels") {
  using p = tool_permission;
  // tools.yml allows TASK_CREATE from level 1, autonomy.yml only from level 2: the stricter wins.
  CHECK(perm("TASK_CREATE", 1) == p::denied);
  CHECK(perm("TASK_CREATE", 2) == p::allowed);
  CHECK(perm("LOG_APPEND", 1) == p::allowed);
  CHECK(perm("LOG_APPEND", 0) == p::denied);
  CHECK(perm("N8N_WORKFLOW_UPSERT", 2) == p::denied);
  CHECK(perm("N8N_WORKFLOW_UPSERT", 3) == p::allowed);
  // Decision 4: listed high-risk, requires_confirmation, or no automatic level.
  CHECK(perm("GIT_CLONE", 2) == p::denied);
  CHECK(perm("GIT_CLONE", 3) == p::approval_required);
  CHECK(perm("BACKUP_RUN", 3) == p::approval_required);
  CHECK(perm("RESTORE_BACKUP", 3) == p::approval_required);
  CHECK(perm("N8N_WORKFLOW_PROMOTE", 0) == p::approval_required);
  // Not named by autonomy.yml: tools.yml alone decides.
  CHECK(perm("GLOBAL_ERROR_ALERT", 1) == p::allowed);
  CHECK(perm("PROXY_EXEC", 0) == p::allowed);
  auto err = check_autonomy(*ref().catalogue.find("GIT_SYNC"), 2, ref().autonomy);
  REQUIRE(err);
  CHECK(err.code == error_code::permission_denied);
  CHECK(err.details.at("current_level") == 2);
  CHECK(err.details.at("required_levels").as_array().size() == 1);
}

TEST_CASE("masking: secret keys are masked recursively, numbers kept") {
  auto v = json::parse(R"({"user":"m","password":"hunter2","nested":{"api_key":"k","X-API-Key":"k2",
      "list":[{"access_token":"t"},{"ok":"fine"}],"credentials":{"a":1}},"tokens_used":42,
      "auth":"Bearer abc.def","clientSecret":"s"})");
  auto n = mask_secrets(v, masking_rules{});
  CHECK(v.at("password") == "***");
  CHECK(v.at("nested").at("api_key") == "***");
  CHECK(v.at("nested").at("X-API-Key") == "***");
  CHECK(v.at("nested").at("list").at(0).at("access_token") == "***");
  CHECK(v.at("nested").at("list").at(1).at("ok") == "fine");
  CHECK(v.at("nested").at("credentials") == "***");
  CHECK(v.at("tokens_used") == 42);
  CHECK(v.at("auth") == "***");
  CHECK(v.at("clientSecret") == "***");
  CHECK(v.at("user") == "m");
  CHECK(n == 7);
  auto extra = json::parse(R"({"iban":"FR76..."})");
  mask_secrets(extra, masking_rules{{"IBAN"}});
  CHECK(extra.at("iban") == "***");
}

TEST_CASE("retry_policy: exponential delays capped, only transient failures retry") {
  retry_settings s;  // reference defaults: 3 attempts, 1000 ms, x2, cap 10000 ms
  auto timeout = make_error(error_code::timeout, "t");
  CHECK(next_retry_delay(s, 2, timeout) == std::chrono::milliseconds(1000));
  CHECK(next_retry_delay(s, 3, timeout) == std::chrono::milliseconds(2000));
  CHECK_FALSE(next_retry_delay(s, 4, timeout));
  s.maximum_attempts = 10;
  CHECK(next_retry_delay(s, 6, timeout) == std::chrono::milliseconds(10000));  // 16000 capped
  auto http503 = make_error(error_code::http_error, "h", {{"status", 503}});
  auto http429 = make_error(error_code::http_error, "h", {{"status", 429}});
  auto http404 = make_error(error_code::http_error, "h", {{"status", 404}});
  CHECK(is_retryable(http503, s));
  CHECK(is_retryable(http429, s));
  CHECK_FALSE(is_retryable(http404, s));
  CHECK_FALSE(is_retryable(make_error(error_code::validation_error, "v"), s));
  CHECK_FALSE(is_retryable(make_error(error_code::permission_denied, "p"), s));
  CHECK(is_retryable(make_error(error_code::connection_failed, "c"), s));
  s.non_retryable_error_codes = {"TIMEOUT"};
  CHECK_FALSE(is_retryable(timeout, s));
  retry_settings once;
  once.maximum_attempts = 1;
  CHECK_FALSE(next_retry_delay(once, 2, http503));
}

TEST_CASE("masking: value shapes are masked wherever they appear, the rest of the text is kept") {
  masking_rules rules;
  struct row {
    std::string in, out;
  };
  const std::vector<row> table{
    {"key sk-ant-api03-AbCdEfGhIjKlMnOp here", "key *** here"},
    {"openai sk-proj-abcdefghijklmnop1234", "openai ***"},
    {"stripe sk_live_abcdefghijklmnop1234", "stripe ***"},
    {"aws AKIAIOSFODNN7EXAMPLE done", "aws *** done"},
    {"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh ***"},
    {"pat github_pat_11ABCDEFG0123456789abc", "pat ***"},
    {"slack xoxb-1234567890-abcdef", "slack ***"},
    {"google AIzaSyA-1234567890abcdefghijklmnopqrstu", "google ***"},
    {"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x ok", "jwt *** ok"},
    {"Authorization: Bearer abcdefgh.ijkl-mnop", "Authorization: Bearer ***"},
    {"login password=hunter22 then", "login password=*** then"},
    {"{\"api_key\": \"k-1234\"}", "{\"api_key\": \"***\"}"},
    {"token: abc123def", "token: ***"},
    {"clone https://bob:s3cret@git.example.com/repo.git", "clone https://***@git.example.com/repo.git"},
    {"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end", "*** end"},
    {"nothing secret here, tokens_used: 42", "nothing secret here, tokens_used: 42"},
    {"https://example.com/path?q=1", "https://example.com/path?q=1"},
    {"stripe rk_test_abcdefghijklmnop1234", "stripe ***"},
    {"X-Api-Key: abcdef123456", "X-Api-Key: ***"},
    {"priority high, task_019ada3e4f2b5c6d at opex://tasks/x", "priority high, task_019ada3e4f2b5c6d at opex://tasks/x"},
  };
  for (const auto& r : table) {
    INFO(r.in);
    CHECK(masked(r.in, rules) == r.out);
  }
  auto v = json::parse(R"({"steps":[{"data":{"log":["ok","Bearer abcdefghijk","AKIAIOSFODNN7EXAMPLE"]}}],
                           "error":{"details":{"reason":"401 for sk-ant-api03-AbCdEfGhIjKlMnOp"}}})");
  CHECK(mask_secrets(v, rules) == 3);
  auto text = json::serialize(v);
  CHECK(text.find("AKIA") == std::string::npos);
  CHECK(text.find("sk-ant") == std::string::npos);
  CHECK(text.find("\"ok\"") != std::string::npos);
  masking_rules keys_only({}, {}, false);
  CHECK(masked("aws AKIAIOSFODNN7EXAMPLE", keys_only) == "aws AKIAIOSFODNN7EXAMPLE");
  masking_rules custom({}, {"IBAN [A-Z]{2}[0-9]{10}"});
  CHECK(masked("pay IBAN FR7630006000 now", custom) == "pay *** now");
  CHECK_THROWS_AS(masking_rules({}, {"(unclosed"}), std::invalid_argument);
  auto lit = json::parse(R"({"echo":"value s3cr3t-value inside","n":1})");
  CHECK(mask_literals(lit, {"s3cr3t-value"}) == 1);
  CHECK(lit.at("echo") == "value *** inside");
}
