#ifndef STP_CPNG_SHIM_H
#define STP_CPNG_SHIM_H
#include <png.h>
#endif
