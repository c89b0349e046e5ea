package preseed

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/zfs"
)

// Status is what `nixgen-helper preseed status` shows for one service.
type Status struct {
	Service    string    `json:"service"`
	Dataset    string    `json:"dataset"`
	Exists     bool      `json:"exists"`
	Mounted    bool      `json:"mounted"` // at the declared mountpoint
	Mountpoint string    `json:"mountpoint"`
	Complete   bool      `json:"complete"` // nixgen:preseed=complete
	Last       string    `json:"last_outcome,omitempty"`
	LastMethod string    `json:"last_method,omitempty"`
	LastTime   time.Time `json:"last_time,omitzero"`
	// Asides are the datasets preseed set aside for this service and kept
	// (<dataset>.nixgen-aside-<time>, or <dataset>.nixgen-aside while a
	// syncoid restore is under way or was interrupted), and the clone of an
	// interrupted local restore (<dataset>.nixgen-local).
	Asides []Aside `json:"asides"`
}

// Aside is one kept dataset, with what preseed recorded on it.
type Aside struct {
	Dataset string `json:"dataset"`
	Reason  string `json:"reason,omitempty"`
	Time    string `json:"time,omitempty"` // RFC 3339, UTC
}

// statusProps is what status reads of the services and their asides.
var statusProps = []string{"mounted", "mountpoint", PropComplete, PropLast, PropAside, PropAsideReason, PropAsideTime, PropLocal}

// ReadStatus reads every preseed-enabled service of the manifest with one
// `zfs list -d 1` per distinct parent dataset (normally one in all). The
// last outcome comes from the nixgen:preseed-last property that Run writes;
// the asides are the siblings named <dataset>.nixgen-aside[-<time>] that
// carry nixgen:preseed-aside=<dataset>.
func ReadStatus(ctx context.Context, z *zfs.Runner, m *manifest.Manifest) ([]Status, error) {
	if z == nil {
		z = &zfs.Runner{}
	}
	byParent := map[string]map[string]map[string]string{}
	var out []Status
	for _, s := range m.Services {
		if s.Preseed == nil {
			continue
		}
		parent := path.Dir(s.Dataset)
		kids, ok := byParent[parent]
		if !ok {
			var err error
			kids, err = z.ListChildren(ctx, parent, statusProps...)
			if err != nil && !zfs.NotExist(err) {
				return nil, err
			}
			byParent[parent] = kids
		}
		st := Status{Service: s.Name, Dataset: s.Dataset, Mountpoint: s.Mountpoint, Asides: []Aside{}}
		for name, p := range kids {
			if (name == s.Dataset+asideSuffix || strings.HasPrefix(name, s.Dataset+AsideInfix)) && p[PropAside] == s.Dataset {
				a := Aside{Dataset: name}
				if isSet(p[PropAsideReason]) {
					a.Reason = p[PropAsideReason]
				}
				if isSet(p[PropAsideTime]) {
					a.Time = p[PropAsideTime]
				}
				st.Asides = append(st.Asides, a)
			}
			if name == s.Dataset+localSuffix && isSet(p[PropLocal]) {
				st.Asides = append(st.Asides, Aside{Dataset: name,
					Reason: "clone of " + p[PropLocal] + " left by an interrupted local restore (docs/restore-procedures.md)"})
			}
		}
		sort.Slice(st.Asides, func(i, j int) bool { return st.Asides[i].Dataset < st.Asides[j].Dataset })
		if p, ok := kids[s.Dataset]; ok {
			st.Exists = true
			st.Mounted = p["mounted"] == "yes" && p["mountpoint"] == s.Mountpoint
			st.Complete = p[PropComplete] == "complete"
			st.Last, st.LastMethod, st.LastTime = parseLast(p[PropLast])
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

func parseLast(v string) (outcome, method string, t time.Time) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return "", "", time.Time{}
	}
	t, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return "", "", time.Time{}
	}
	return f[0], f[1], t
}

// WriteStatusTable prints statuses as an aligned table.
func WriteStatusTable(w io.Writer, sts []Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tDATASET\tMOUNTED\tPRESEED\tLAST OUTCOME")
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, s := range sts {
		mounted := yn(s.Mounted)
		if !s.Exists {
			mounted = "missing"
		}
		prop := "-"
		if s.Complete {
			prop = "complete"
		}
		last := "-"
		if s.Last != "" {
			last = fmt.Sprintf("%s (%s) %s", s.Last, s.LastMethod, s.LastTime.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Service, s.Dataset, mounted, prop, last)
		for _, a := range s.Asides {
			why := a.Reason
			if why == "" {
				why = "restore under way or interrupted"
			}
			fmt.Fprintf(tw, "\t  set aside: %s\t\t\t%s %s\n", a.Dataset, a.Time, why)
		}
	}
	return tw.Flush()
}
