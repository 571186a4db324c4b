package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throw-away certificate authority with a server certificate for
// 127.0.0.1 and localhost and client certificates, as PEM files in a
// test's temporary directory.
type PKI struct {
	// CA is the authority's certificate; ServerCert and ServerKey are
	// signed by it for 127.0.0.1 and localhost.
	CA, ServerCert, ServerKey string
	// ClientCert and ClientKey are signed by CA, with subject
	// ClientSubject.
	ClientCert, ClientKey string
	// StrangerCert and StrangerKey are a client certificate of another
	// authority, with the same subject.
	StrangerCert, StrangerKey string
}

// ClientSubject is the subject of PKI's client certificates, as
// pkix.Name.String prints it.
const ClientSubject = "CN=nova,OU=compute,O=oslorego-test"

// NewPKI writes a PKI into a temporary directory of t.
func NewPKI(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := authority(t, "oslorego test CA")
	otherKey, otherCert, _ := authority(t, "another CA")
	var p PKI
	p.CA = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	p.ServerCert, p.ServerKey = leaf(t, dir, "server", caCert, caKey, pkix.Name{CommonName: "pdp"}, true)
	client := pkix.Name{CommonName: "nova", OrganizationalUnit: []string{"compute"}, Organization: []string{"oslorego-test"}}
	p.ClientCert, p.ClientKey = leaf(t, dir, "client", caCert, caKey, client, false)
	p.StrangerCert, p.StrangerKey = leaf(t, dir, "stranger", otherCert, otherKey, client, false)
	return p
}

// serialNumber is a random certificate serial number.
func serialNumber(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func authority(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func leaf(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, subject pkix.Name, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(t), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", keyDER)
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
