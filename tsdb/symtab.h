/* tsdb/symtab.h — interning of label names and values for the head: each distinct string is
 * stored once, so series share "job", "instance" and their common values, and interned strings
 * compare by pointer. Thread-safe; strings live until symtab_free().
 *
 * Every interned string also has a 32-bit id, its offset from symtab_base(), which never moves:
 * the head keeps ids (4 bytes) instead of pointers (8) in every series' labels. */
#ifndef EMBER_TSDB_SYMTAB_H
#define EMBER_TSDB_SYMTAB_H

#include <stddef.h>

struct symtab;

struct symtab *symtab_new(void);
void symtab_free(struct symtab *st); /* NULL is fine */
/* The interned copy of s[0..n), or NULL on ENOMEM. */
const char *symtab_intern(struct symtab *st, const char *s, size_t n);
/* The interned copy of s[0..n) if there is one, else NULL: adds nothing (for lookups by strings
 * from outside, which must not grow the table). */
const char *symtab_find(struct symtab *st, const char *s, size_t n);
size_t symtab_bytes(const struct symtab *st); /* memory held by strings */
/* Where ids count from: an interned string s has id s - base, and id i is the string base + i. */
const char *symtab_base(const struct symtab *st);

#endif
