package datasets

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Describe is the one-line, human-readable form of an action.
func Describe(a Action) string {
	switch a.Kind {
	case CreateParent:
		return fmt.Sprintf("create parent %s (mountpoint=none)", a.Dataset)
	case Create:
		p := ""
		if a.Parents {
			p = ", with missing ancestors"
		}
		return fmt.Sprintf("create %s (%s%s)", a.Dataset, formatProps(a.Props), p)
	case Set:
		from := a.From
		switch {
		case from == "" || from == "-":
			from = "unset"
		case a.Source != "" && a.Source != "-" && a.Source != "local":
			from += " (" + a.Source + ")"
		}
		return fmt.Sprintf("set %s %s: %s -> %s", a.Dataset, a.Property, from, a.To)
	case Mount:
		return fmt.Sprintf("mount %s at %s", a.Dataset, a.Path)
	case AllowLocal:
		return fmt.Sprintf("allow %s on %s itself: %s (zfs allow -l, to receive new replicas there)", a.User, a.Dataset, a.To)
	case AllowCreate:
		return fmt.Sprintf("allow the creator of each dataset below %s: %s (zfs allow -c, so %s holds them on the replicas it receives)", a.Dataset, a.To, a.User)
	case Chown, Chmod:
		what := "owner"
		if a.Kind == Chmod {
			what = "mode"
		}
		if a.From == "" {
			return fmt.Sprintf("%s of %s: %s (once mounted, if it differs)", what, a.Path, a.To)
		}
		return fmt.Sprintf("%s of %s: %s -> %s", what, a.Path, a.From, a.To)
	}
	return string(a.Kind) + " " + a.Dataset
}

// DescribeRefusal explains a create-time property that will not be changed.
func DescribeRefusal(r Refusal) string {
	return fmt.Sprintf("%s %s is %s, manifest wants %s: ZFS sets it only at creation, so it is left as is (recreate the dataset by hand to change it)",
		r.Dataset, r.Property, r.Have, r.Want)
}

// WriteText prints the plan for a person.
func WriteText(w io.Writer, p *Plan) {
	fmt.Fprintf(w, "pool %s is %s; parent %s\n", p.Pool, p.PoolHealth, p.Parent)
	for _, a := range p.Actions {
		fmt.Fprintf(w, "  %s\n", Describe(a))
	}
	for _, r := range p.Refused {
		fmt.Fprintf(w, "  refuse: %s\n", DescribeRefusal(r))
	}
	for _, r := range p.MissingReplicas {
		fmt.Fprintf(w, "  skip: replica %s has not been received yet\n", r)
	}
	if len(p.Actions) == 0 {
		fmt.Fprintln(w, "no changes")
	} else {
		fmt.Fprintf(w, "%d change(s)\n", len(p.Actions))
	}
}

func formatProps(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + props[k]
	}
	return strings.Join(parts, " ")
}
