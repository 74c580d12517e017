package kube

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestReadOnly shows that recommend's client reads but refuses every
// write before it reaches the server.
func TestReadOnly(t *testing.T) {
	var reads, writes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			reads.Add(1)
		} else {
			writes.Add(1)
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(ReadOnly(&rest.Config{Host: srv.URL}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flags"}}
	for name, write := range map[string]func() error{
		"create": func() error {
			_, err := cs.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{})
			return err
		},
		"update": func() error {
			_, err := cs.CoreV1().ConfigMaps("shop").Update(ctx, cm, metav1.UpdateOptions{})
			return err
		},
		"patch": func() error {
			_, err := cs.CoreV1().ConfigMaps("shop").Patch(ctx, "flags", "application/merge-patch+json", []byte("{}"), metav1.PatchOptions{})
			return err
		},
		"delete": func() error { return cs.CoreV1().ConfigMaps("shop").Delete(ctx, "flags", metav1.DeleteOptions{}) },
	} {
		if err := write(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want %v", name, err, ErrReadOnly)
		}
	}
	if _, err := cs.CoreV1().ConfigMaps("shop").Get(ctx, "flags", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get: %v, want the server's not found", err)
	}
	if reads.Load() != 1 || writes.Load() != 0 {
		t.Errorf("server saw %d reads and %d writes, want 1 and 0", reads.Load(), writes.Load())
	}
}
