package oslo

import (
	"flag"
	"fmt"
)

var update = flag.Bool("update", false, "rewrite golden files")

func typeName(v any) string { return fmt.Sprintf("%T", v) }
