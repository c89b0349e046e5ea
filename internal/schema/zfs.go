package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nixgen/nixgen/internal/rules"
)

// maxDatasetName is ZFS_MAX_DATASET_NAME_LEN minus the terminating NUL.
const maxDatasetName = rules.MaxDatasetName

// datasetNameError returns why name is not a valid ZFS filesystem name, or
// "" when it is. The rule lives in internal/rules, shared with the helper.
func datasetNameError(name string) string { return rules.DatasetName(name) }

// relativeDatasetError checks a dataset name below a parent ("media" or
// "apps/media").
func relativeDatasetError(name string) string { return rules.RelativeDataset(name) }

// propertyCheck returns why a value is wrong for a property, or "".
type propertyCheck func(v string) string

func oneOf(vals ...string) propertyCheck {
	return func(v string) string {
		if slices.Contains(vals, v) {
			return ""
		}
		return "expected one of " + quoteList(vals)
	}
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

var onOff = oneOf("on", "off")

func recordsize(v string) string {
	n, ok := rules.ZFSSize(v)
	if !ok {
		return "expected a size such as \"128K\" or \"1M\""
	}
	if n < 512 || n > 16<<20 || n&(n-1) != 0 {
		return "the record size must be a power of two from 512 to 16M"
	}
	return ""
}

func sizeOrNone(v string) string {
	if v == "none" {
		return ""
	}
	if _, ok := rules.ZFSSize(v); !ok {
		return "expected \"none\" or a size such as \"10G\""
	}
	return ""
}

func specialSmallBlocks(v string) string {
	n, ok := rules.ZFSSize(v)
	if !ok {
		return "expected a size such as \"64K\" or 0"
	}
	if n != 0 && (n < 512 || n > 16<<20 || n&(n-1) != 0) {
		return "expected 0 or a power of two from 512 to 16M"
	}
	return ""
}

func countOrNone(v string) string {
	if v == "none" {
		return ""
	}
	if _, err := strconv.ParseUint(v, 10, 64); err != nil {
		return "expected \"none\" or a whole number"
	}
	return ""
}

func compression(v string) string {
	switch v {
	case "on", "off", "lzjb", "gzip", "zle", "lz4", "zstd", "zstd-fast":
		return ""
	}
	if n, ok := strings.CutPrefix(v, "gzip-"); ok && inRange(n, 1, 9) {
		return ""
	}
	if n, ok := strings.CutPrefix(v, "zstd-fast-"); ok {
		if inRange(n, 1, 10) || n == "20" || n == "30" || n == "40" || n == "50" || n == "60" || n == "70" || n == "80" || n == "90" || n == "100" || n == "500" || n == "1000" {
			return ""
		}
		return "zstd-fast levels are 1-10, 20-100 in steps of 10, 500 and 1000"
	}
	if n, ok := strings.CutPrefix(v, "zstd-"); ok && inRange(n, 1, 19) {
		return ""
	}
	return "expected on, off, lzjb, gzip, gzip-1..gzip-9, zle, lz4, zstd, zstd-1..zstd-19, zstd-fast or zstd-fast-N"
}

func inRange(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && strconv.Itoa(n) == s && n >= lo && n <= hi
}

func dedup(v string) string {
	base, verify := strings.CutSuffix(v, ",verify")
	switch base {
	case "on", "sha256", "sha512", "skein", "blake3", "edonr":
		if base == "edonr" && !verify {
			return "edonr requires \",verify\""
		}
		return ""
	case "off":
		if !verify {
			return ""
		}
	case "verify":
		if !verify {
			return ""
		}
	}
	return "expected on, off, verify, or a checksum (sha256, sha512, skein, blake3, edonr) optionally followed by \",verify\""
}

func keylocation(v string) string {
	if v == "prompt" || strings.HasPrefix(v, "file:///") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
		return ""
	}
	return "expected \"prompt\", \"file:///path\" or an http(s) URL"
}

func pbkdf2iters(v string) string {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < 100000 {
		return "expected a whole number of at least 100000"
	}
	return ""
}

func anyValue(string) string { return "" }

// nativeProperties is every native property that can be set on a ZFS
// filesystem, with the check for its value. Read-only statistics and
// volume-only properties are absent on purpose: they cannot be set here.
var nativeProperties = map[string]propertyCheck{
	"aclinherit":           oneOf("discard", "noallow", "restricted", "passthrough", "passthrough-x"),
	"aclmode":              oneOf("discard", "groupmask", "passthrough", "restricted"),
	"acltype":              oneOf("off", "noacl", "nfsv4", "posix", "posixacl"),
	"atime":                onOff,
	"canmount":             oneOf("on", "off", "noauto"),
	"casesensitivity":      oneOf("sensitive", "insensitive", "mixed"),
	"checksum":             oneOf("on", "off", "fletcher2", "fletcher4", "sha256", "noparity", "sha512", "skein", "edonr", "blake3"),
	"compression":          compression,
	"context":              anyValue,
	"copies":               oneOf("1", "2", "3"),
	"dedup":                dedup,
	"defcontext":           anyValue,
	"devices":              onOff,
	"direct":               oneOf("disabled", "standard", "always"),
	"dnodesize":            oneOf("legacy", "auto", "1k", "2k", "4k", "8k", "16k"),
	"encryption":           oneOf("off", "on", "aes-128-ccm", "aes-192-ccm", "aes-256-ccm", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm"),
	"exec":                 onOff,
	"filesystem_limit":     countOrNone,
	"fscontext":            anyValue,
	"keyformat":            oneOf("raw", "hex", "passphrase"),
	"keylocation":          keylocation,
	"logbias":              oneOf("latency", "throughput"),
	"longname":             onOff,
	"mlslabel":             anyValue,
	"nbmand":               onOff,
	"normalization":        oneOf("none", "formC", "formD", "formKC", "formKD"),
	"overlay":              onOff,
	"pbkdf2iters":          pbkdf2iters,
	"prefetch":             oneOf("all", "none", "metadata"),
	"primarycache":         oneOf("all", "none", "metadata"),
	"quota":                sizeOrNone,
	"readonly":             onOff,
	"recordsize":           recordsize,
	"redundant_metadata":   oneOf("all", "most", "some", "none"),
	"refquota":             sizeOrNone,
	"refreservation":       func(v string) string { return map[bool]string{true: "", false: sizeOrNone(v)}[v == "auto"] },
	"relatime":             onOff,
	"reservation":          sizeOrNone,
	"rootcontext":          anyValue,
	"secondarycache":       oneOf("all", "none", "metadata"),
	"setuid":               onOff,
	"sharenfs":             anyValue,
	"sharesmb":             anyValue,
	"snapdev":              oneOf("hidden", "visible"),
	"snapdir":              oneOf("hidden", "visible", "disabled"),
	"snapshot_limit":       countOrNone,
	"special_small_blocks": specialSmallBlocks,
	"sync":                 oneOf("standard", "always", "disabled"),
	"utf8only":             onOff,
	"version":              oneOf("1", "2", "3", "4", "5", "current"),
	"volmode":              oneOf("default", "full", "geom", "dev", "none"),
	"vscan":                onOff,
	"xattr":                oneOf("on", "off", "sa", "dir"),
	"zoned":                onOff,
}

var userPropRe = regexp.MustCompile(`^[a-z0-9:+._-]+$`)

// propertyError returns a summary and detail when a property assignment is
// invalid, or "" "" when it is fine.
func propertyError(name, value string) (string, string) {
	if name == "mountpoint" {
		return "Mountpoint in properties", "Set the mountpoint with the service's \"mountpoint\" attribute, not as a dataset property."
	}
	if strings.Contains(name, ":") {
		if !userPropRe.MatchString(name) || strings.HasPrefix(name, ":") || len(name) > 256 {
			return "Invalid user property name", fmt.Sprintf("The user property name %q may contain only lowercase letters, digits and \":+._-\", must not start with \":\", and must be at most 256 characters.", name)
		}
		if strings.HasPrefix(name, "nixgen:") {
			return "Reserved property", fmt.Sprintf("The %q namespace belongs to nixgen-helper (it records preseed state there); choose another module prefix.", "nixgen:")
		}
		if len(value) > 8191 {
			return "Property value too long", fmt.Sprintf("The value of %q is %d bytes; ZFS allows at most 8191.", name, len(value))
		}
		return "", ""
	}
	check, ok := nativeProperties[name]
	if !ok {
		names := make([]string, 0, len(nativeProperties))
		for n := range nativeProperties {
			names = append(names, n)
		}
		slices.Sort(names)
		return "Unknown ZFS property", fmt.Sprintf("%q is not a ZFS filesystem property that can be set.%s User properties need a module prefix with a colon, such as \"com.example:%s\".", name, suggest(name, names), name)
	}
	if msg := check(value); msg != "" {
		return "Invalid ZFS property value", fmt.Sprintf("%q is not a valid value for %s: %s.", value, name, msg)
	}
	return "", ""
}
