package rules

import (
	"fmt"
	"strings"
)

// MaxDatasetName is ZFS_MAX_DATASET_NAME_LEN minus the terminating NUL.
const MaxDatasetName = 255

// DatasetName returns why name is not a valid ZFS filesystem name. It
// follows OpenZFS's dataset_namecheck/pool_namecheck, a little stricter:
// spaces (legal in ZFS) are rejected because the names end up in unit names
// and command lines, and "." and ".." components are rejected outright.
func DatasetName(name string) string {
	if name == "" {
		return "the name is empty"
	}
	if len(name) > MaxDatasetName {
		return fmt.Sprintf("the name is %d bytes long; ZFS allows at most %d", len(name), MaxDatasetName)
	}
	if msg := RelativeDataset(name); msg != "" {
		return msg
	}
	pool, _, _ := strings.Cut(name, "/")
	return poolName(pool)
}

func poolName(pool string) string {
	c := pool[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return fmt.Sprintf("the pool name %q must start with a letter", pool)
	}
	for _, r := range []string{"mirror", "raidz", "draid"} {
		if strings.HasPrefix(pool, r) {
			return fmt.Sprintf("the pool name %q is reserved (it begins with %q)", pool, r)
		}
	}
	switch pool {
	case "spare", "log", "cache", "special", "dedup":
		return fmt.Sprintf("the pool name %q is reserved", pool)
	}
	if len(pool) >= 2 && pool[0] == 'c' && pool[1] >= '0' && pool[1] <= '9' {
		return fmt.Sprintf("the pool name %q looks like a disk device name, which ZFS reserves", pool)
	}
	if strings.ContainsRune(pool, ':') {
		return fmt.Sprintf("the pool name %q must not contain \":\"", pool)
	}
	return ""
}

// RelativeDataset checks a dataset name below a parent ("media" or
// "apps/media"): the rules of a full name without the pool rules.
func RelativeDataset(name string) string {
	if name == "" {
		return "the name is empty"
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return "the name must not start or end with \"/\""
	}
	for _, p := range strings.Split(name, "/") {
		if p == "" {
			return "the name has an empty component (\"//\")"
		}
		if p == "." || p == ".." {
			return fmt.Sprintf("the component %q is not allowed", p)
		}
		if !componentChars.all(p) {
			return fmt.Sprintf("the component %q may contain only letters, digits and \"_.:-\"", p)
		}
	}
	return ""
}

// Pool is the pool part of a dataset name ("tank" of "tank/services").
func Pool(name string) string {
	pool, _, _ := strings.Cut(name, "/")
	return pool
}
