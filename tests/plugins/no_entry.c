/* A valid shared library that is not a strategy: it exports a symbol, but not the entry point. */
#include <cats/sdk.h>

CATS_EXPORT int cats_something_else(void) {
  return 42;
}
