package zfs

import (
	"strconv"
	"strings"

	"github.com/nixgen/nixgen/internal/rules"
)

// sizeProps hold byte counts: `zfs get -p` prints them as plain integers.
var sizeProps = map[string]bool{
	"recordsize":           true,
	"volblocksize":         true,
	"volsize":              true,
	"quota":                true,
	"refquota":             true,
	"reservation":          true,
	"refreservation":       true,
	"special_small_blocks": true,
}

func isSizeProp(prop string) bool {
	if sizeProps[prop] {
		return true
	}
	for _, p := range []string{"userquota@", "groupquota@", "projectquota@", "userobjquota@", "groupobjquota@", "projectobjquota@"} {
		if strings.HasPrefix(prop, p) {
			return true
		}
	}
	return false
}

// aliases are the index values that zfs accepts but reports under another
// name (OpenZFS zfs_prop.c: the first name of a value is the one printed).
var aliases = map[string]map[string]string{
	"compression": {"gzip-6": "gzip"},
	"acltype":     {"posixacl": "posix", "noacl": "off", "disabled": "off"},
	"xattr":       {"dir": "on"},
	"aclinherit":  {"secure": "restricted"},
	"volmode":     {"geom": "full"},
}

// Normalize returns value in the form `zfs get -p` prints for prop, so a
// declared "16K" compares equal to a read "16384", "none" to "0" for
// quotas, and "gzip-6" to "gzip". Values that are not sizes, or that do not
// parse, are returned as given (a bad value is then zfs's to reject).
func Normalize(prop, value string) string {
	if a, ok := aliases[prop][value]; ok {
		return a
	}
	if !isSizeProp(prop) {
		return value
	}
	if value == "none" {
		return "0"
	}
	if n, ok := rules.ZFSSize(value); ok {
		return strconv.FormatUint(n, 10)
	}
	return value
}
