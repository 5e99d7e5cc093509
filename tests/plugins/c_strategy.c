/* A strategy written in plain C against cats/sdk.h (proof that the ABI needs no C++), built in
 * several variants: one good, the others each broken in one way the loader must refuse.
 *
 *   CATS_TEST_GOOD            counts bars (one by one, or runs of them: on_bars); param
 *                             fail_at_bar = N returns an error on bar N, order_at_bar = N buys
 *                             on bar N, span_abuse breaks the on_bars contract (below)
 *   CATS_TEST_MAJOR           claims ABI major CATS_ABI_MAJOR + 1
 *   CATS_TEST_MINOR           needs ABI minor CATS_ABI_MINOR + 1
 *   CATS_TEST_SMALL           descriptor smaller than ABI 1.0 allows
 *   CATS_TEST_NO_ON_EVENT     descriptor without the required on_event
 *   CATS_TEST_DECLINE         entry point returns NULL
 *   CATS_TEST_CREATE_FAILS    create() fails with its own message
 */
#include <cats/sdk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cats_strategy_t {
  const cats_host_api_t* api;
  cats_host_t* host;
  int64_t bars;
  int64_t fail_at_bar;
  int64_t order_at_bar;
  int64_t span_abuse;
  char error[128];
};

static cats_status_t c_create(const cats_host_api_t* api, cats_host_t* host,
                              const cats_params_t* params, cats_strategy_t** out, char* error,
                              uint32_t error_capacity) {
#ifdef CATS_TEST_CREATE_FAILS
  (void)api;
  (void)host;
  (void)params;
  (void)out;
  snprintf(error, error_capacity, "c strategy: cannot start without an API key");
  return CATS_E_INVALID_ARGUMENT;
#else
  cats_strategy_t* s = (cats_strategy_t*)calloc(1, sizeof *s);
  uint32_t i;
  if (s == NULL) {
    snprintf(error, error_capacity, "out of memory");
    return CATS_E_FAILED;
  }
  s->api = api;
  s->host = host;
  for (i = 0; params != NULL && i < params->count; ++i) {
    const cats_param_value_t* v =
        (const cats_param_value_t*)((const char*)params->items + (size_t)i * params->item_size);
    if (v->name.size == 11 && memcmp(v->name.data, "fail_at_bar", 11) == 0)
      s->fail_at_bar = v->int_value;
    if (v->name.size == 12 && memcmp(v->name.data, "order_at_bar", 12) == 0)
      s->order_at_bar = v->int_value;
    if (v->name.size == 10 && memcmp(v->name.data, "span_abuse", 10) == 0)
      s->span_abuse = v->int_value;
  }
  *out = s;
  return CATS_OK;
#endif
}

static void c_destroy(cats_strategy_t* s) {
  free(s);
}

/* A market buy of 0.001 (on the bar's instrument). */
static cats_status_t c_buy(cats_strategy_t* s, uint32_t instrument_id) {
  cats_order_request_t r;
  uint64_t id = 0;
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  r.instrument_id = instrument_id;
  r.side = CATS_SIDE_BUY;
  r.order_type = CATS_ORDER_MARKET;
  r.quantity = 100000; /* 0.001 */
  return s->api->submit_order(s->host, &r, &id);
}

static cats_status_t c_on_event(cats_strategy_t* s, const cats_event_t* e) {
  if (e->type != CATS_EVENT_BAR) return CATS_OK;
  ++s->bars;
  if (s->bars == s->order_at_bar) c_buy(s, e->instrument_id);
  if (s->fail_at_bar != 0 && s->bars == s->fail_at_bar) {
    snprintf(s->error, sizeof s->error, "c strategy: refused bar %lld", (long long)s->bars);
    return CATS_E_FAILED;
  }
  return CATS_OK;
}

/* ABI 1.5: a run of bars in one call, by the contract a C plugin follows itself. span_abuse
 * breaks it for the tests: 1 = goes on after the host asked it to stop and buys on the next bar;
 * 2 = goes on to the end without calling the host and says it handled every bar. */
static cats_status_t c_on_bars(cats_strategy_t* s, cats_bar_span_t* span, uint32_t* out_handled) {
  const char* at = (const char*)span->first;
  uint32_t i;
  int stopped = 0;
  for (i = 0; i < span->count; ++i, at += span->stride) {
    const cats_bar_event_t* bar = (const cats_bar_event_t*)(const void*)at;
    cats_status_t st;
    span->current = i;
    if (stopped && s->span_abuse == 1) {
      ++s->bars;
      st = c_buy(s, bar->header.instrument_id);
      if (st != CATS_OK) {
        snprintf(s->error, sizeof s->error, "c strategy: the host refused a buy (%d)", (int)st);
        *out_handled = i + 1;
        return st;
      }
      continue;
    }
    st = c_on_event(s, &bar->header);
    if (st != CATS_OK) {
      *out_handled = i + 1;
      return st;
    }
    if (span->stop != 0) {
      if (s->span_abuse == 0) {
        *out_handled = i + 1;
        return CATS_OK;
      }
      stopped = 1;
    }
  }
  *out_handled = span->count;
  return CATS_OK;
}

static cats_str_t c_last_error(cats_strategy_t* s) {
  cats_str_t r;
  r.data = s->error;
  r.size = strlen(s->error);
  return r;
}

static const cats_param_spec_t c_params[] = {
    {sizeof(cats_param_spec_t),
     CATS_PARAM_INT,
     {"fail_at_bar", 11},
     {"0", 1},
     {"return an error on this bar (0 = never)", 39}},
    {sizeof(cats_param_spec_t),
     CATS_PARAM_INT,
     {"order_at_bar", 12},
     {"0", 1},
     {"market-buy 0.001 on this bar (0 = never)", 40}},
    {sizeof(cats_param_spec_t),
     CATS_PARAM_INT,
     {"span_abuse", 10},
     {"0", 1},
     {"break the on_bars contract: 1 or 2", 34}},
};

static cats_strategy_descriptor_t descriptor = {
    sizeof(cats_strategy_descriptor_t),
    CATS_ABI_MAJOR,
    CATS_ABI_MINOR,
    0,
    {"c_strategy", 10},
    {"0.1.0", 5},
    {"a strategy in plain C", 21},
    c_params,
    3,
    sizeof(cats_param_spec_t),
    c_create,
    c_destroy,
    NULL,
    c_on_event,
    NULL,
    NULL,
    NULL,
    c_last_error,
    c_on_bars,
};

CATS_EXPORT const cats_strategy_descriptor_t* cats_strategy_entry(uint32_t host_major,
                                                                  uint32_t host_minor) {
  (void)host_major;
  (void)host_minor;
#if defined(CATS_TEST_MAJOR)
  descriptor.abi_major = CATS_ABI_MAJOR + 1;
#elif defined(CATS_TEST_MINOR)
  descriptor.abi_minor = CATS_ABI_MINOR + 1;
#elif defined(CATS_TEST_SMALL)
  descriptor.struct_size = (uint32_t)offsetof(cats_strategy_descriptor_t, on_event);
#elif defined(CATS_TEST_NO_ON_EVENT)
  descriptor.on_event = NULL;
#elif defined(CATS_TEST_DECLINE)
  return NULL;
#endif
  return &descriptor;
}
