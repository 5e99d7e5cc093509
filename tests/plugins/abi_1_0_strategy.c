/* A plugin built the way one for ABI 1.0 was: against the 1.0 header (tests/plugins/sdk_1_0),
 * stating minor 0, with the 1.0 sizes of every struct it hands the host. It logs each event's type
 * to the file in its `log` parameter and buys `quantity` at market on its 20th trade, so a test
 * can check that a newer host loads it, fills its order and never sends it a book event (1.1). */
#include <cats/sdk.h>

#include <stdio.h>
#include <string.h>

#if CATS_ABI_MINOR != 0
#error "this fixture must be built against the ABI 1.0 header"
#endif

struct cats_strategy_t {
  const cats_host_api_t* api;
  cats_host_t* host;
  FILE* log;
  int64_t trades;
};

static struct cats_strategy_t one; /* the fixture runs as a single instance */

static cats_status_t create(const cats_host_api_t* api, cats_host_t* host,
                            const cats_params_t* params, cats_strategy_t** out, char* error,
                            uint32_t error_capacity) {
  char path[512] = {0};
  for (uint32_t i = 0; i < params->count; ++i) {
    const cats_param_value_t* v =
        (const cats_param_value_t*)((const char*)params->items + (size_t)i * params->item_size);
    if (v->name.size == 3 && memcmp(v->name.data, "log", 3) == 0 && v->string_value.size > 0 &&
        v->string_value.size < sizeof path)
      memcpy(path, v->string_value.data, (size_t)v->string_value.size);
  }
  if (one.log != NULL || path[0] == '\0') {
    snprintf(error, error_capacity, "needs a log file (and runs once)");
    return CATS_E_INVALID_ARGUMENT;
  }
  one.api = api;
  one.host = host;
  one.trades = 0;
  one.log = fopen(path, "a");
  if (one.log == NULL) {
    snprintf(error, error_capacity, "cannot open %s", path);
    return CATS_E_FAILED;
  }
  *out = &one;
  return CATS_OK;
}

static void destroy(cats_strategy_t* s) {
  fclose(s->log);
  s->log = NULL;
}

static cats_status_t on_event(cats_strategy_t* s, const cats_event_t* e) {
  fprintf(s->log, "event %d size %u\n", (int)e->type, (unsigned)e->struct_size);
  if (e->type == CATS_EVENT_TRADE && ++s->trades == 20) {
    cats_order_request_t r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r; /* 48: the 1.0 request, without 1.2's stop_price */
    r.instrument_id = e->instrument_id;
    r.side = CATS_SIDE_BUY;
    r.order_type = CATS_ORDER_MARKET;
    r.quantity = CATS_FIXED_SCALE / 100;
    uint64_t id = 0;
    fprintf(s->log, "submit %d\n", (int)s->api->submit_order(s->host, &r, &id));
  }
  if (e->type == CATS_EVENT_FILL) {
    const cats_fill_event_t* f = (const cats_fill_event_t*)e;
    fprintf(s->log, "fill %lld\n", (long long)f->quantity);
  }
  return CATS_OK;
}

static cats_str_t last_error(cats_strategy_t* s) {
  (void)s;
  cats_str_t none = {NULL, 0};
  return none;
}

static const cats_param_spec_t params_spec[] = {
    {sizeof(cats_param_spec_t), CATS_PARAM_STRING, {"log", 3}, {"", 0}, {"event log file", 14}},
};

static const cats_strategy_descriptor_t descriptor = {
    sizeof(cats_strategy_descriptor_t),
    CATS_ABI_MAJOR,
    0,
    0,
    {"abi_1_0", 7},
    {"1.0.0", 5},
    {"a plugin built against the ABI 1.0 header", 41},
    params_spec,
    1,
    sizeof(cats_param_spec_t),
    create,
    destroy,
    NULL,
    on_event,
    NULL,
    NULL,
    NULL,
    last_error,
};

CATS_EXPORT const cats_strategy_descriptor_t* cats_strategy_entry(uint32_t host_major,
                                                                  uint32_t host_minor) {
  (void)host_major;
  (void)host_minor;
  return &descriptor;
}
