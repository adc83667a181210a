// Anthropic Messages and OpenAI chat completions, streaming off (see llm_client.hpp).
#include "opex/connectors/llm_client.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

namespace opex::connectors {

namespace json = boost::json;

namespace llm {

namespace {

std::int64_t int_of(const json::object& o, std::string_view key) {
  if (const auto* v = get_member(o, key); v && v->is_number())
    return v->to_number<std::int64_t>();
  return 0;
}

error_info protocol_error(const llm_endpoint_settings& e, std::string reason, const std::string& body) {
  return make_error(error_code::protocol_error, "LLM endpoint " + e.name + " answered an unreadable response: " + reason,
                    json::object{{"endpoint", e.name}, {"provider", e.provider}, {"reason", reason},
                                 {"body", body.substr(0, 1024)}});
}

} // namespace

http_request build_http_request(const llm_endpoint_settings& e, const llm_request& r, const std::string& api_key) {
  http_request req;
  req.method = "POST";
  req.timeout = std::chrono::milliseconds(e.timeout_ms);
  req.headers.emplace_back("Content-Type", "application/json");
  json::object body{{"model", e.model},
                    {"max_tokens", r.max_tokens > 0 ? r.max_tokens : e.max_tokens},
                    {"temperature", r.temperature.value_or(e.temperature)},
                    {"stream", false}};
  json::array messages;
  if (e.provider == "openai") {
    req.url = e.base_url + "/chat/completions";
    if (!api_key.empty())
      req.headers.emplace_back("Authorization", "Bearer " + api_key);
    if (!r.system.empty())
      messages.push_back(json::object{{"role", "system"}, {"content", r.system}});
  } else {
    req.url = e.base_url + "/v1/messages";
    if (!api_key.empty())
      req.headers.emplace_back("x-api-key", api_key);
    req.headers.emplace_back("anthropic-version", e.anthropic_version);
    if (!r.system.empty())
      body["system"] = r.system;
  }
  for (const auto& m : r.messages)
    messages.push_back(json::object{{"role", m.role}, {"content", m.content}});
  body["messages"] = std::move(messages);
  req.body = json::serialize(body);
  return req;
}

result<llm_response> parse_response(const llm_endpoint_settings& e, const http_response& res) {
  auto parsed = parse_json(res.body);
  if (res.status < 200 || res.status > 299) {
    json::object details{{"endpoint", e.name}, {"provider", e.provider}, {"status", res.status},
                         {"body", res.body.substr(0, 2048)}};
    if (auto ra = res.header("retry-after"))
      details["retry_after"] = *ra;
    std::string message;
    if (parsed && parsed->is_object())
      if (const auto* err = get_member(parsed->get_object(), "error"); err && err->is_object()) {
        const auto& eo = err->get_object();
        if (auto t = get_string(eo, "type"))
          details["error_type"] = *t;
        if (auto m = get_string(eo, "message")) {
          details["error_message"] = *m;
          message = std::string(*m);
        }
      }
    return make_error(error_code::http_error,
                      "LLM endpoint " + e.name + " answered HTTP " + std::to_string(res.status)
                        + (message.empty() ? "" : ": " + message),
                      std::move(details));
  }
  if (!parsed || !parsed->is_object())
    return protocol_error(e, "the body is not a JSON object", res.body);
  const auto& o = parsed->get_object();
  llm_response out;
  out.endpoint = e.name;
  out.provider = e.provider;
  out.model = std::string(get_string(o, "model").value_or(e.model));
  out.id = std::string(get_string(o, "id").value_or(""));
  const json::object* usage = nullptr;
  if (const auto* u = get_member(o, "usage"); u && u->is_object())
    usage = &u->get_object();
  if (e.provider == "openai") {
    const auto* choices = get_member(o, "choices");
    if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object())
      return protocol_error(e, "no choices", res.body);
    const auto& choice = choices->get_array()[0].get_object();
    const auto* message = get_member(choice, "message");
    if (!message || !message->is_object())
      return protocol_error(e, "the first choice has no message", res.body);
    if (const auto* content = get_member(message->get_object(), "content"); content && content->is_string())
      out.text = std::string(content->get_string());
    out.stop_reason = std::string(get_string(choice, "finish_reason").value_or(""));
    if (usage) {
      out.usage.input_tokens = int_of(*usage, "prompt_tokens");
      out.usage.output_tokens = int_of(*usage, "completion_tokens");
    }
  } else {
    const auto* content = get_member(o, "content");
    if (!content || !content->is_array())
      return protocol_error(e, "no content list", res.body);
    for (const auto& block : content->get_array())
      if (block.is_object())
        if (auto type = get_string(block.get_object(), "type"); type && *type == "text")
          out.text += std::string(get_string(block.get_object(), "text").value_or(""));
    out.stop_reason = std::string(get_string(o, "stop_reason").value_or(""));
    if (usage) {
      out.usage.input_tokens = int_of(*usage, "input_tokens") + int_of(*usage, "cache_creation_input_tokens")
                               + int_of(*usage, "cache_read_input_tokens");
      out.usage.output_tokens = int_of(*usage, "output_tokens");
    }
  }
  out.usage.cost_usd = cost_usd(e, out.usage.input_tokens, out.usage.output_tokens);
  return out;
}

double cost_usd(const llm_endpoint_settings& e, std::int64_t in, std::int64_t out) noexcept {
  return (static_cast<double>(in) * e.input_cost_per_mtok_usd + static_cast<double>(out) * e.output_cost_per_mtok_usd)
         / 1e6;
}

double estimate_cost_usd(const llm_endpoint_settings& e, const llm_request& r) noexcept {
  std::size_t chars = r.system.size();
  for (const auto& m : r.messages)
    chars += m.content.size();
  auto in = static_cast<std::int64_t>(chars / 3 + 1);
  return cost_usd(e, in, r.max_tokens > 0 ? r.max_tokens : e.max_tokens);
}

} // namespace llm

llm_client::llm_client(llm_settings settings, std::shared_ptr<http_client> http)
  : settings_(std::move(settings)), http_(std::move(http)) {}

cancel_handle llm_client::complete(const std::string& name, const llm_request& request, llm_completion done,
                                   std::chrono::milliseconds timeout) const {
  const auto* e = settings_.find(name);
  if (e == nullptr) {
    done(make_error(error_code::connector_unavailable,
                    name.empty() ? "no default LLM endpoint is configured" : "no LLM endpoint named " + name,
                    json::object{{"endpoint", name}}));
    return {};
  }
  auto key = key_for(*e);
  if (!key) {
    done(std::move(key).error());
    return {};
  }
  auto req = llm::build_http_request(*e, request, *key);
  if (timeout.count() > 0)
    req.timeout = timeout;
  return http_->send(std::move(req), [e, done = std::move(done)](error_info err, http_response res) {
    if (err) {
      err.details["endpoint"] = e->name;
      done(std::move(err));
      return;
    }
    done(llm::parse_response(*e, res));
  });
}

result<std::string> llm_client::key_for(const llm_endpoint_settings& e) const {
  if (e.api_key.empty())
    return std::string{};
  {
    std::lock_guard lock(keys_m_);
    if (auto it = keys_.find(e.name); it != keys_.end())
      return it->second;
  }
  auto resolved = resolve_reference(e.api_key);
  if (!resolved) {
    auto err = std::move(resolved).error();
    err.message = "LLM endpoint " + e.name + ": its API key " + e.api_key + " is not set";
    err.details["endpoint"] = e.name;
    return err;
  }
  std::lock_guard lock(keys_m_);
  return keys_.emplace(e.name, std::move(resolved).value()).first->second;
}

llm_connector::llm_connector(std::shared_ptr<const llm_service> client) : client_(std::move(client)) {}

std::string llm_connector::breaker_key(const tool_definition& tool) const {
  const auto endpoint = tool.target.text("name");
  const auto* e = client_->settings().find(endpoint);
  return "llm:" + (e ? e->name : endpoint);
}

cancel_handle llm_connector::call(const tool_definition& tool, const json::object& payload, const call_context& ctx,
                                  call_completion done) {
  llm_request req;
  req.system = std::string(get_string(payload, "system").value_or(""));
  if (auto prompt = get_string(payload, "prompt"))
    req.messages.push_back(llm_message{"user", std::string(*prompt)});
  if (const auto* msgs = get_member(payload, "messages"); msgs && msgs->is_array())
    for (const auto& m : msgs->get_array())
      if (m.is_object())
        req.messages.push_back(llm_message{std::string(get_string(m.get_object(), "role").value_or("user")),
                                           std::string(get_string(m.get_object(), "content").value_or(""))});
  if (const auto* v = get_member(payload, "max_tokens"); v && v->is_int64())
    req.max_tokens = static_cast<int>(v->get_int64());
  if (const auto* v = get_member(payload, "temperature"); v && v->is_number())
    req.temperature = v->to_number<double>();
  if (req.messages.empty()) {
    call_outcome out;
    out.error = make_error(error_code::payload_invalid, "an llm tool needs a prompt or messages",
                           json::object{{"tool", tool.id}});
    done(std::move(out));
    return {};
  }
  return client_->complete(tool.target.text("name"), req, [done = std::move(done)](result<llm_response> r) {
    call_outcome out;
    if (!r) {
      out.error = std::move(r).error();
    } else {
      out.ok = true;
      out.cost_usd = r->usage.cost_usd;
      out.input_tokens = r->usage.input_tokens;
      out.output_tokens = r->usage.output_tokens;
      out.data = r->to_json();
    }
    done(std::move(out));
  }, ctx.timeout);
}

} // namespace opex::connectors
