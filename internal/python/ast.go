// Ported from CPython 3.11.2 Parser/Python.asdl, the node classes Lib/ast.py literal_eval inspects (PSF License); see NOTICE.

package python

// nodeKind is the Python AST node class, reduced to the distinctions
// ast.literal_eval makes; everything else is nOther.
type nodeKind uint8

const (
	nConstant nodeKind = iota
	nName
	nTuple
	nList
	nSet
	nDict
	nCall
	nBinOp
	nUnaryOp
	nOther // any other expr, and the comprehension / keyword helper nodes
)

// node is an AST node. kids holds every child node in field order (they
// matter for the depth limit of the AST conversion) and, for the kinds
// literal_eval inspects, exactly its operands.
type node struct {
	kind  nodeKind
	op    string // nBinOp, nUnaryOp: the operator token ("+", "-", "not", ...)
	val   value  // nConstant
	isSet bool   // nName: the NFKC-normalised identifier is "set"
	kids  []*node
	// nCall: kids[0] is the function; nargs counts the positional
	// arguments and keywords that follow it.
	nargs int
}

func newNode(kind nodeKind, kids ...*node) *node {
	return &node{kind: kind, kids: kids}
}

func constant(v value) *node { return &node{kind: nConstant, val: v} }

// depth is the nesting depth of n counting every AST object converted by
// ast2obj (expressions, comprehensions, keywords).
func depth(n *node) int {
	d := 0
	for _, k := range n.kids {
		if kd := depth(k); kd > d {
			d = kd
		}
	}
	return d + 1
}
