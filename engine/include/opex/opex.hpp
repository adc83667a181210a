// The one include of opex's public API: the engine, its configuration and contracts.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/engine.hpp"
#include "opex/error.hpp"
#include "opex/plan_dag.hpp"
#include "opex/schema_registry.hpp"
#include "opex/template_resolver.hpp"
