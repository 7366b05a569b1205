/*
 * text.h - small character helpers the parsers share: hex digits and UTF-8
 * encoding.  Pure functions; no allocation, no errors beyond the return
 * values below.
 */
#ifndef TOCK_BASE_TEXT_H
#define TOCK_BASE_TEXT_H

#include "base/compat.h"

/* The value of hex digit c (0-9, a-f, A-F): 0 to 15, or -1 if c is not one. */
int text_hex_digit(char c);

/*
 * Writes code point cp as UTF-8 (1 to 4 bytes) to out and returns the
 * number of bytes written.  cp is encoded as given: the caller decides what
 * to do with surrogates (U+D800..U+DFFF) and values above U+10FFFF (only
 * cp < 0x200000 has a 4-byte form).
 */
size_t text_utf8_encode(uint32_t cp, char out[4]);

#endif
