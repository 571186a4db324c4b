package python

// pyError is a Python exception: its type name and message.
type pyError struct {
	typ string
	msg string
}

func (e *pyError) String() string {
	if e.msg == "" {
		return e.typ
	}
	return e.typ + ": " + e.msg
}

func syntaxError(msg string) *pyError { return &pyError{typ: "SyntaxError", msg: msg} }
