//go:build ignore

// Replay is an upstream that takes no time: a reverse proxy that asks the
// real Glance once per path and token and then answers every further
// request for them from memory (status, headers and body). In front of it
// the gateway's latency is its own, with the upstream's time near zero;
// bench/gateway/run.sh uses it for the "what the gateway adds" figure.
//
//	go run bench/gateway/replay.go -listen 127.0.0.1:PORT -upstream http://GLANCE
package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"net/http"
	"sync"
)

type answer struct {
	status int
	header http.Header
	body   []byte
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "the Glance to record")
	flag.Parse()
	var mu sync.Mutex
	seen := map[string]*answer{}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Auth-Token")
		mu.Lock()
		a := seen[key]
		mu.Unlock()
		if a == nil {
			req, err := http.NewRequest(r.Method, *upstream+r.URL.RequestURI(), nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			a = &answer{status: resp.StatusCode, header: resp.Header, body: body}
			mu.Lock()
			seen[key] = a
			mu.Unlock()
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = io.Copy(w, bytes.NewReader(a.body))
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
