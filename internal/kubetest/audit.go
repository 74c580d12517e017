package kubetest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// auditPolicy logs every request once, when its response is complete, with
// its metadata (user, verb, object, status), not its body.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted", "Panic"]
rules:
  - level: Metadata
`

// StartAudited starts an API server as Start does, with its audit log on:
// AuditEvents reads what it answered to whom. The log is written before
// each response is sent (blocking mode), so a request that got its answer
// is in it.
func StartAudited(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "audit.log")
	e := start(t, map[string]string{"audit-policy-file": policy, "audit-log-path": log, "audit-log-mode": "blocking"})
	e.audit = log
	return e
}

// AuditEvent is one request the API server answered.
type AuditEvent struct {
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	ObjectRef  *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Code returns the HTTP status of the answer (0 when unknown).
func (a AuditEvent) Code() int {
	if a.ResponseStatus == nil {
		return 0
	}
	return a.ResponseStatus.Code
}

// AuditEvents returns the requests of user (every user when "") so far, in
// order. It fails t when the audit log is off (Start, not StartAudited).
func (e *Env) AuditEvents(t testing.TB, user string) []AuditEvent {
	t.Helper()
	if e.audit == "" {
		t.Fatal("kubetest: the audit log is off: use StartAudited")
	}
	f, err := os.Open(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if user == "" || ev.User.Username == user {
			out = append(out, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
