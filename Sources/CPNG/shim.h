#ifndef STP_CPNG_SHIM_H
#define STP_CPNG_SHIM_H
// libpng for the image-folder data sets: one call that decodes a whole PNG held in memory into
// 8-bit RGB.
//
// It uses libpng's simplified API (png_image), which catches libpng's errors internally (its own
// setjmp) and hands back a message instead of printing or aborting, so no longjmp ever crosses
// Swift. The simplified API also does every conversion: grayscale, palette, tRNS and 16-bit
// inputs all come out as 8-bit RGB.
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <png.h>

enum {
    STP_PNG_OK = 0,
    STP_PNG_ERROR = 1,       // not decodable (corrupt, truncated); see the message
    STP_PNG_TOO_LARGE = 2,   // more pixels than the caller allows
    STP_PNG_NO_MEMORY = 3,
};

// Decodes `data` into *out_pixels: malloc'd, width * height * 3 bytes, RGB, rows top to bottom;
// the caller frees it with free().
//
// Alpha (an RGBA or gray+alpha file, or a tRNS chunk) is composited onto white, what a viewer
// shows on a light page: dropping it instead would expose whatever colour happens to be stored
// under fully transparent pixels (often black, sometimes garbage). 16-bit files without gAMA or
// sRGB chunks are taken as sRGB-encoded (PNG_IMAGE_FLAG_16BIT_sRGB), as image editors and
// OpenCV write them, so 16 bits become 8 by scaling rather than by a linear-to-sRGB curve.
static inline int stp_png_decode(const unsigned char *data, size_t size, size_t max_pixels,
                                 unsigned char **out_pixels, int *out_width, int *out_height,
                                 char *message, size_t message_size) {
    png_image image;
    *out_pixels = NULL;
    *out_width = 0;
    *out_height = 0;
    if (message != NULL && message_size > 0) message[0] = 0;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        snprintf(message, message_size, "%s", image.message);
        png_image_free(&image);
        return STP_PNG_ERROR;
    }
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    image.format = PNG_FORMAT_RGB;
    const size_t pixels = (size_t)image.width * (size_t)image.height;
    if (pixels == 0 || pixels > max_pixels) {
        snprintf(message, message_size, "is %ux%u pixels, more than the %zu-pixel limit",
                 (unsigned)image.width, (unsigned)image.height, max_pixels);
        png_image_free(&image);
        return STP_PNG_TOO_LARGE;
    }
    unsigned char *buffer = (unsigned char *)malloc(pixels * 3);
    if (buffer == NULL) {
        snprintf(message, message_size, "out of memory");
        png_image_free(&image);
        return STP_PNG_NO_MEMORY;
    }
    const png_color white = { 255, 255, 255 };
    if (!png_image_finish_read(&image, &white, buffer, 0, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        png_image_free(&image);
        free(buffer);
        return STP_PNG_ERROR;
    }
    png_image_free(&image);
    *out_pixels = buffer;
    *out_width = (int)image.width;
    *out_height = (int)image.height;
    return STP_PNG_OK;
}
#endif
