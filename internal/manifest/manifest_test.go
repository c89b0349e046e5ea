package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func valid() *Manifest {
	return &Manifest{
		Version: Version,
		Host:    "forge",
		Parent:  Parent{Dataset: "tank/services", Pool: "tank"},
		Services: []Service{{
			Name: "app", Unit: "app.service", Dataset: "tank/services/app", Mountpoint: "/srv/app",
			User: "app", Group: "app", Mode: "0750",
			Properties:  map[string]string{"recordsize": "16K", "utf8only": "on"},
			CreateOnly:  []string{"utf8only"},
			Preseed:     &Preseed{Methods: []string{"local", "restic"}, TimeoutSeconds: 60, OnFailure: "block"},
			Backup:      &Backup{Repository: "nas", Paths: []string{"/srv/app"}},
			Replication: &Replication{Target: "recv@nas:backup/app", User: "recv", Host: "nas", Dataset: "backup/app"},
			Notify:      []string{"phone"},
		}},
		Repositories: map[string]Repository{"nas": {URL: "/mnt/restic", PasswordFile: "/run/pw"}},
		Notifiers:    map[string]Notifier{"phone": {Type: "ntfy", URL: "https://ntfy.example/x"}},
		Jobs:         []Job{{Unit: "restic-backups-app.service", Kind: JobBackup, Service: "app", Repository: "nas", Notify: []string{"phone"}}},
		Replicas:     []Replica{{Dataset: "tank/replicas/x", Source: "luna:rpool/x"}},
	}
}

func TestMarshalDecodeRoundTrip(t *testing.T) {
	m := valid()
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"_generated": "`+GeneratedMarker+`"`)) {
		t.Errorf("marker missing:\n%s", b)
	}
	if m.Generated != "" {
		t.Error("Marshal modified its argument")
	}
	back, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m.Generated = GeneratedMarker
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip changed the manifest:\n got %+v\nwant %+v", back, m)
	}
}

func TestDecodeIsStrict(t *testing.T) {
	b, _ := Marshal(valid())
	cases := map[string]string{
		"unknown field": strings.Replace(string(b), `"version"`, `"versoin": 1, "version"`, 1),
		"trailing data": string(b) + "{}",
		"malformed":     string(b[:len(b)/2]),
	}
	for name, in := range cases {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]struct {
		edit func(m *Manifest)
		want string
	}{
		"version":                {func(m *Manifest) { m.Version = 99 }, "version 99"},
		"parent not in pool":     {func(m *Manifest) { m.Parent.Pool = "rpool" }, "not in pool"},
		"dataset outside parent": {func(m *Manifest) { m.Services[0].Dataset = "tank/other/app" }, "not below parent"},
		"relative mountpoint":    {func(m *Manifest) { m.Services[0].Mountpoint = "srv/app" }, "absolute"},
		"unclean mountpoint":     {func(m *Manifest) { m.Services[0].Mountpoint = "/srv/../etc" }, "absolute"},
		"mode":                   {func(m *Manifest) { m.Services[0].Mode = "rwx" }, "octal"},
		"mountpoint property":    {func(m *Manifest) { m.Services[0].Properties["mountpoint"] = "/x" }, "mountpoint belongs"},
		"create_only unknown":    {func(m *Manifest) { m.Services[0].CreateOnly = []string{"casesensitivity"} }, "create_only"},
		"unknown repository":     {func(m *Manifest) { m.Services[0].Backup.Repository = "b2" }, `repository "b2"`},
		"relative backup path":   {func(m *Manifest) { m.Services[0].Backup.Paths = []string{"data"} }, "backup path"},
		"on_failure":             {func(m *Manifest) { m.Services[0].Preseed.OnFailure = "retry" }, "on_failure"},
		"timeout":                {func(m *Manifest) { m.Services[0].Preseed.TimeoutSeconds = 0 }, "timeout_seconds"},
		"syncoid without replication": {func(m *Manifest) {
			m.Services[0].Preseed.Methods = []string{"syncoid"}
			m.Services[0].Replication = nil
		}, "needs replication"},
		"unknown method":     {func(m *Manifest) { m.Services[0].Preseed.Methods = []string{"rsync"} }, "unknown preseed method"},
		"unknown notifier":   {func(m *Manifest) { m.Services[0].Notify = []string{"pager"} }, `notifier "pager"`},
		"duplicate service":  {func(m *Manifest) { m.Services = append(m.Services, m.Services[0]) }, "duplicate name"},
		"relative password":  {func(m *Manifest) { m.Repositories["nas"] = Repository{URL: "x", PasswordFile: "pw"} }, "password_file"},
		"notifier type":      {func(m *Manifest) { m.Notifiers["phone"] = Notifier{Type: "email", URL: "x"} }, "not ntfy or webhook"},
		"job kind":           {func(m *Manifest) { m.Jobs[0].Kind = "vacuum" }, "unknown kind"},
		"job service":        {func(m *Manifest) { m.Jobs[0].Service = "ghost" }, `service "ghost"`},
		"duplicate job unit": {func(m *Manifest) { m.Jobs = append(m.Jobs, m.Jobs[0]) }, "duplicate unit"},
		"replica name":       {func(m *Manifest) { m.Replicas[0].Dataset = "/tank/x" }, "not a dataset name"},
	}
	for name, c := range cases {
		m := valid()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if err := valid().Validate(); err != nil {
		t.Errorf("valid manifest rejected: %v", err)
	}
}
