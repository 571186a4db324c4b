package server

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// guardWriter records whether an answer was written and whether it broke
// off, for ServeHTTP to close the connection when it was not answered
// whole.
type guardWriter struct {
	http.ResponseWriter
	wrote  bool // a status line was written (explicitly or by a Write)
	broken bool // the handler failed after the answer started, or gave up
}

func (g *guardWriter) WriteHeader(code int) {
	g.wrote = true
	g.ResponseWriter.WriteHeader(code)
}

func (g *guardWriter) Write(p []byte) (int, error) {
	g.wrote = true
	return g.ResponseWriter.Write(p)
}

// ReadFrom keeps net/http's sendfile path for image data.
func (g *guardWriter) ReadFrom(r io.Reader) (int64, error) {
	g.wrote = true
	if rf, ok := g.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(g.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach net/http's writer.
func (g *guardWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// markBroken tells ServeHTTP that the answer is not whole.
func markBroken(c echo.Context) {
	if g, ok := c.Response().Writer.(*guardWriter); ok {
		g.broken = true
		return
	}
	panic(http.ErrAbortHandler)
}

// operational are the endpoints that stay answerable under load.
var operational = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// limit answers 503 past Config.MaxRequests requests in progress.
func (s *Server) limit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.slots == nil || operational[c.Path()] {
			return next(c)
		}
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
			return next(c)
		default:
			s.metrics.rejected.Inc()
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			return writeError(c, http.StatusServiceUnavailable, "The server is busy; retry later.")
		}
	}
}

// retryAfterSeconds is the Retry-After of a 503 for too many requests.
const retryAfterSeconds = 1

// recoverPanic turns a handler's panic into a logged 500 (or a closed
// connection when the answer had started); http.ErrAbortHandler passes.
func (s *Server) recoverPanic() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.cfg.Log.ErrorContext(c.Request().Context(), "handler panicked", "error", err, "path", clip(c.Request().URL.Path), "stack", string(stack))
			return fmt.Errorf("handler panicked: %w", err)
		},
	})
}

// maxLogged is how much of a client-supplied string (id, marker, path)
// reaches a log line or an error message.
const maxLogged = 80

// clip bounds a client-supplied string for logs and messages.
func clip(s string) string {
	if len(s) <= maxLogged {
		return s
	}
	// Cut on a byte boundary; slog and encoding/json replace a cut rune.
	return s[:maxLogged] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// knownMethods are the methods that are their own metric label.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel bounds the method label: any other method is "other".
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// routeLabel bounds the route label to the route patterns and
// "unmatched".
func (s *Server) routeLabel(c echo.Context) string {
	if p := c.Path(); s.routes[p] {
		return p
	}
	return "unmatched"
}
