// Webhook calls over the shared HTTP client.
#include "opex/connectors/webhook_connector.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

namespace opex::connectors {

namespace json = boost::json;

webhook_connector::webhook_connector(std::shared_ptr<http_client> client, std::shared_ptr<const secret_store> secrets)
  : client_(std::move(client)), secrets_(std::move(secrets)) {}

std::string webhook_connector::breaker_key(const tool_definition& tool) const {
  const auto target = tool.target.text("url");
  auto url = parse_url(target);
  if (!url)
    return "webhook:" + target;
  return "webhook:" + url->host + ":" + url->port + url->target.substr(0, url->target.find('?'));
}

cancel_handle webhook_connector::call(const tool_definition& tool, const json::object& payload,
                                      const call_context& ctx, call_completion done) {
  http_request req;
  req.method = tool.target.text("method", "POST");
  req.url = tool.target.text("url");
  req.timeout = ctx.timeout;
  req.body = json::serialize(payload);
  req.headers = {{"X-Request-ID", ctx.request_id},
                 {"Idempotency-Key", ctx.idempotency_key.empty() ? ctx.request_id + ":" + std::to_string(ctx.step)
                                                                  : ctx.idempotency_key},
                 {"X-Opex-Attempt", std::to_string(ctx.attempt)},
                 {"X-Opex-Tool", tool.id}};
  add_trace_headers(ctx.trace, req.headers);
  const auto* headers = tool.target.spec.if_contains("headers");
  for (const auto& kv : headers && headers->is_object() ? headers->get_object() : json::object{}) {
    const std::string name(kv.key());
    const std::string value(kv.value().is_string() ? std::string_view(kv.value().get_string()) : "");
    if (!value.starts_with("secret:")) {
      req.headers.emplace_back(name, value);
      continue;
    }
    auto secret_name = value.substr(7);
    auto secret = secrets_->get(ctx.tenant, secret_name);
    if (!secret) {
      call_outcome out;
      out.error = make_error(error_code::secret_not_found,
                             "tenant " + ctx.tenant + " has no secret " + secret_name,
                             json::object{{"tool", tool.id}, {"tenant", ctx.tenant}, {"secret", secret_name}});
      done(std::move(out));
      return {};
    }
    req.headers.emplace_back(name, std::move(*secret));
  }
  return client_->send(std::move(req), [done = std::move(done)](error_info err, http_response res) {
    call_outcome out;
    if (err) {
      out.error = std::move(err);
      done(std::move(out));
      return;
    }
    if (res.status < 200 || res.status > 299) {
      json::object details{{"status", res.status},
                           {"body", res.body.substr(0, 2048)}};
      if (auto ra = res.header("retry-after"))
        details["retry_after"] = *ra;
      // n8n's error bodies: {"code", "message", "hint"} (e.g. 404 "The requested webhook ... is
      // not registered." with the hint to activate the workflow).
      std::string message;
      if (auto parsed = parse_json(res.body); parsed && parsed->is_object()) {
        if (auto m = get_string(parsed->get_object(), "message")) {
          message = std::string(*m);
          details["message"] = message;
        }
        if (auto h = get_string(parsed->get_object(), "hint"))
          details["hint"] = *h;
      }
      out.error = make_error(error_code::http_error,
                             "target answered HTTP " + std::to_string(res.status) + (message.empty() ? "" : ": " + message),
                             std::move(details));
      done(std::move(out));
      return;
    }
    out.ok = true;
    if (res.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      out.data = json::object{};
    } else if (auto parsed = parse_json(res.body)) {
      if (parsed->is_object())
        out.data = std::move(parsed).value();
      else
        out.data = json::object{{"value", std::move(parsed).value()}};
    } else {
      out.data = json::object{{"body", res.body.substr(0, 65536)}};
    }
    done(std::move(out));
  });
}

} // namespace opex::connectors
