#ifndef STP_CJPEG_SHIM_H
#define STP_CJPEG_SHIM_H
#include <stdio.h>
#include <jpeglib.h>
#endif
