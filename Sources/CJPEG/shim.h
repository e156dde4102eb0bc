#ifndef STP_CJPEG_SHIM_H
#define STP_CJPEG_SHIM_H
// libjpeg-turbo for the image-folder data sets: one call that decodes a whole JPEG held in memory
// into 8-bit RGB, and one that encodes (used by the tests to make their fixtures).
//
// Why C and not Swift: libjpeg reports a fatal error by calling err->error_exit, whose default
// prints to stderr and calls exit(). The only way back from it is longjmp, and a longjmp must not
// cross Swift frames. So the whole decode runs here under one setjmp, with an error manager whose
// error_exit formats the message into a buffer and jumps back; the caller gets a code and that
// message, and libjpeg never prints or exits. jpeg_create_decompress/compress are macros, which
// Swift cannot call; they are only used in here.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

enum {
    STP_JPEG_OK = 0,
    STP_JPEG_ERROR = 1,       // not decodable (corrupt, truncated, unsupported); see the message
    STP_JPEG_TOO_LARGE = 2,   // more pixels than the caller allows
    STP_JPEG_NO_MEMORY = 3,
};

typedef struct {
    struct jpeg_error_mgr base;   // first, so that cinfo->err can be cast back to this struct
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
} stp_jpeg_error_manager;

static inline void stp_jpeg_copy_message(char *out, size_t out_size, const char *text) {
    if (out == NULL || out_size == 0) return;
    snprintf(out, out_size, "%s", text);
}

static inline void stp_jpeg_error_exit(j_common_ptr cinfo) {
    stp_jpeg_error_manager *manager = (stp_jpeg_error_manager *)cinfo->err;
    manager->base.format_message(cinfo, manager->message);
    longjmp(manager->escape, 1);
}

// Warnings that mean pixels were lost: libjpeg-turbo carries on and fills the rest of the image
// with grey (a truncated file is "Premature end of JPEG file"), which would silently train on
// damaged images. These become errors; harmless warnings (extra bytes between markers, an unknown
// JFIF revision, a bad ICC profile) are ignored. Trace messages (level >= 0) are never shown.
static inline void stp_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    stp_jpeg_error_manager *manager = (stp_jpeg_error_manager *)cinfo->err;
    int code = manager->base.msg_code;
    manager->base.num_warnings++;
    if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC ||
        code == JWRN_HUFF_BAD_CODE || code == JWRN_ARITH_BAD_CODE || code == JWRN_NOT_SEQUENTIAL) {
        manager->base.format_message(cinfo, manager->message);
        longjmp(manager->escape, 1);
    }
}

static inline void stp_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static inline void stp_jpeg_install_error_manager(stp_jpeg_error_manager *manager) {
    jpeg_std_error(&manager->base);
    manager->base.error_exit = stp_jpeg_error_exit;
    manager->base.emit_message = stp_jpeg_emit_message;
    manager->base.output_message = stp_jpeg_output_message;
    manager->message[0] = 0;
}

static inline void stp_jpeg_create_decompress(j_decompress_ptr cinfo) { jpeg_create_decompress(cinfo); }
static inline void stp_jpeg_create_compress(j_compress_ptr cinfo) { jpeg_create_compress(cinfo); }

// Decodes `data` into *out_pixels: malloc'd, width * height * 3 bytes, RGB, rows top to bottom;
// the caller frees it with free(). Grayscale becomes RGB through libjpeg's own conversion; CMYK
// and YCCK (Photoshop's files) are decoded as CMYK and converted here, inverted when an Adobe
// marker says so (as Photoshop writes them): R = (1 - C)(1 - K), likewise G from M and B from Y.
//
// min_short_side > 0 lets libjpeg decode at 1/2, 1/4 or 1/8 scale in its inverse DCT (averaging
// each 8x8 block down) as long as the shorter side stays at least that long: a 12-megapixel photo
// that becomes 37x37 is then decoded at 1/8 of the work and memory. max_pixels limits
// width * height after scaling (a decompression bomb is an error, not an allocation).
static inline int stp_jpeg_decode(const unsigned char *data, size_t size, int min_short_side, size_t max_pixels,
                                  unsigned char **out_pixels, int *out_width, int *out_height,
                                  char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    stp_jpeg_error_manager errors;
    // volatile: modified between setjmp and a possible longjmp, read after it.
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile cmyk_row = NULL;
    *out_pixels = NULL;
    *out_width = 0;
    *out_height = 0;
    if (message != NULL && message_size > 0) message[0] = 0;

    memset(&cinfo, 0, sizeof cinfo);
    stp_jpeg_install_error_manager(&errors);
    cinfo.err = &errors.base;
    if (setjmp(errors.escape)) {
        stp_jpeg_copy_message(message, message_size, errors.message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        return STP_JPEG_ERROR;
    }
    stp_jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    const int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    const unsigned shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
    cinfo.scale_num = 1;
    cinfo.scale_denom = 1;
    if (min_short_side > 0) {
        for (unsigned denominator = 8; denominator >= 2; denominator /= 2) {
            if (shorter / denominator >= (unsigned)min_short_side) {
                cinfo.scale_denom = denominator;
                break;
            }
        }
    }
    jpeg_calc_output_dimensions(&cinfo);
    const size_t width = cinfo.output_width, height = cinfo.output_height;
    if (width == 0 || height == 0 || width * height > max_pixels) {
        snprintf(message, message_size, "is %zux%zu pixels, more than the %zu-pixel limit", width, height, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return STP_JPEG_TOO_LARGE;
    }
    pixels = (unsigned char *)malloc(width * height * 3);
    if (cmyk) cmyk_row = (unsigned char *)malloc(width * 4);
    if (pixels == NULL || (cmyk && cmyk_row == NULL)) {
        stp_jpeg_copy_message(message, message_size, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        return STP_JPEG_NO_MEMORY;
    }
    jpeg_start_decompress(&cinfo);
    const int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = pixels + (size_t)cinfo.output_scanline * width * 3;
        JSAMPROW target = cmyk ? cmyk_row : row;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
            stp_jpeg_copy_message(errors.message, sizeof errors.message, "Premature end of JPEG file");
            longjmp(errors.escape, 1);
        }
        if (cmyk) {
            for (size_t x = 0; x < width; x++) {
                const unsigned char *ink = cmyk_row + x * 4;
                unsigned c = ink[0], m = ink[1], y = ink[2], k = ink[3];
                if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                row[x * 3 + 0] = (unsigned char)((c * k + 127) / 255);
                row[x * 3 + 1] = (unsigned char)((m * k + 127) / 255);
                row[x * 3 + 2] = (unsigned char)((y * k + 127) / 255);
            }
        }
    }
    // Reads up to the end-of-image marker, so that a file cut after its last scan line is caught.
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    *out_pixels = pixels;
    *out_width = (int)width;
    *out_height = (int)height;
    return STP_JPEG_OK;
}

// Encodes width x height pixels of `components` channels (1 grayscale, 3 RGB, 4 CMYK stored as
// given, with libjpeg's Adobe marker) at `quality` (1...100) into *out (malloc'd by libjpeg, the
// caller frees it with free()). Used by the tests to write their fixtures.
static inline int stp_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                                  unsigned char **out, unsigned long *out_size, char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    stp_jpeg_error_manager errors;
    // libjpeg (re)allocates the output buffer while compressing and stores it through this
    // pointer; it lives on the heap so that its value is still valid after an error jumps back.
    unsigned char **destination = (unsigned char **)calloc(1, sizeof(unsigned char *));
    unsigned long *destination_size = (unsigned long *)calloc(1, sizeof(unsigned long));
    *out = NULL;
    *out_size = 0;
    if (destination == NULL || destination_size == NULL) {
        free(destination);
        free(destination_size);
        stp_jpeg_copy_message(message, message_size, "out of memory");
        return STP_JPEG_NO_MEMORY;
    }
    memset(&cinfo, 0, sizeof cinfo);
    stp_jpeg_install_error_manager(&errors);
    cinfo.err = &errors.base;
    if (setjmp(errors.escape)) {
        stp_jpeg_copy_message(message, message_size, errors.message);
        jpeg_destroy_compress(&cinfo);
        free(*destination);
        free(destination);
        free(destination_size);
        return STP_JPEG_ERROR;
    }
    stp_jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, destination, destination_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : (components == 4 ? JCS_CMYK : JCS_RGB);
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)components);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = *destination;
    *out_size = *destination_size;
    free(destination);
    free(destination_size);
    return STP_JPEG_OK;
}
#endif
