// A fixture for the layer check (cmake/CatsLayers.cmake): util is the lowest layer, so this include
// of core must be refused. Never compiled.
#include "cats/core/fixed.hpp"
