/**
 * The sizes of packs (packs/<ab>/<sha256>, docs/storage.md "Packs"), in one place. The writer's
 * targets come from measurement (docs/performance.md "Packs: measured"); the readers' bounds are
 * what an index file, which anyone who can write the bucket may have written, is allowed to claim:
 * larger than anything the writer makes, so a future writer with bigger targets stays readable,
 * and small enough that a hostile index cannot make a reader allocate without bound.
 */

/**
 * Objects up to this many bytes go into packs; larger ones stay objects/<ab>/<sha256> files. Measured:
 * at 16-128 KiB a pack still writes 5-11x faster than object files; and this is INLINE_FILE, the
 * synchronous small-file path's limit, above which a staged copy can be a reflink a pack could not be.
 */
export const MAX_PACKED_OBJECT = 128 * 1024;

/** A pack is finished once it holds this many bytes (it may pass it by less than one object): restic's size. */
export const TARGET_PACK_SIZE = 16 * 1024 * 1024;

/** A pack is also finished at this many objects, which bounds its index file (~110 bytes an object). */
export const TARGET_PACK_OBJECTS = 65_536;

/** Readers refuse a pack claimed larger: offsets and sizes must fit in 32 bits (pack_index.ts). */
export const MAX_PACK_SIZE = 1024 * 1024 * 1024;

/** Readers refuse an index of more objects. */
export const MAX_PACK_OBJECTS = 262_144;

/** Readers refuse a longer index file before parsing it (MAX_PACK_OBJECTS entries of ~120 bytes). */
export const MAX_INDEX_FILE_BYTES = 32 * 1024 * 1024;
