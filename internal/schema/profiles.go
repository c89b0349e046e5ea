package schema

// BuiltinProfiles are the dataset profiles every spec can use without
// declaring them. A spec's own `profile` block with the same name replaces
// the built-in one entirely (it is not merged), so what a profile means is
// always visible in one place.
//
// Values are chosen for the workloads' I/O sizes: databases want records no
// larger than their page size, media wants large records, and lz4 is cheap
// enough to be on everywhere (it gives up early on incompressible data).
var BuiltinProfiles = map[string]map[string]string{
	// SQLite pages are 4K by default; 16K records keep read-modify-write
	// small while still compressing well.
	"sqlite": {"recordsize": "16K", "compression": "lz4", "atime": "off"},
	// PostgreSQL pages are 8K. It caches data itself, so ARC keeps metadata
	// only, and throughput logbias avoids double-writing WAL to the ZIL.
	"postgres": {"recordsize": "8K", "compression": "lz4", "logbias": "throughput", "primarycache": "metadata", "atime": "off"},
	// Large, already-compressed files read sequentially.
	"media": {"recordsize": "1M", "compression": "lz4", "atime": "off"},
	// Append-only text compresses very well with zstd.
	"logs": {"recordsize": "128K", "compression": "zstd", "logbias": "throughput", "atime": "off"},
	// ZFS's own defaults, with compression on.
	"general": {"recordsize": "128K", "compression": "lz4"},
}
