// Which failures are TLS failures, by the code Node gives them rather than by words in a message: a message that
// merely mentions TLS ("Client network socket disconnected before secure TLS connection was established" is
// ECONNRESET, a member going away mid-handshake) is not a certificate problem, and an operator told "tls" goes to
// look at certificates.

/**
 * Node's names for OpenSSL's certificate verification results (X509_V_ERR_*; node's src/crypto/crypto_common.cc),
 * the err.code of a connection that failed verification, each with the one text OpenSSL 3 has for it
 * (X509_verify_cert_error_string), which is what remains of the code where a library kept only the message.
 * Longest first, so that "self-signed certificate in certificate chain" is not read as "self-signed certificate".
 */
const X509_VERIFY_ERRORS: ReadonlyMap<string, string> = new Map(
  (
    [
      ['UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate'],
      ['UNABLE_TO_GET_CRL', 'unable to get certificate CRL'],
      ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', "unable to decrypt certificate's signature"],
      ['UNABLE_TO_DECRYPT_CRL_SIGNATURE', "unable to decrypt CRL's signature"],
      ['UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'unable to decode issuer public key'],
      ['CERT_SIGNATURE_FAILURE', 'certificate signature failure'],
      ['CRL_SIGNATURE_FAILURE', 'CRL signature failure'],
      ['CERT_NOT_YET_VALID', 'certificate is not yet valid'],
      ['CERT_HAS_EXPIRED', 'certificate has expired'],
      ['CRL_NOT_YET_VALID', 'CRL is not yet valid'],
      ['CRL_HAS_EXPIRED', 'CRL has expired'],
      ['ERROR_IN_CERT_NOT_BEFORE_FIELD', "format error in certificate's notBefore field"],
      ['ERROR_IN_CERT_NOT_AFTER_FIELD', "format error in certificate's notAfter field"],
      ['ERROR_IN_CRL_LAST_UPDATE_FIELD', "format error in CRL's lastUpdate field"],
      ['ERROR_IN_CRL_NEXT_UPDATE_FIELD', "format error in CRL's nextUpdate field"],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
      ['CERT_CHAIN_TOO_LONG', 'certificate chain too long'],
      ['CERT_REVOKED', 'certificate revoked'],
      ['INVALID_CA', 'invalid CA certificate'],
      ['PATH_LENGTH_EXCEEDED', 'path length constraint exceeded'],
      ['INVALID_PURPOSE', 'unsuitable certificate purpose'],
      ['CERT_UNTRUSTED', 'certificate not trusted'],
      ['CERT_REJECTED', 'certificate rejected'],
      ['HOSTNAME_MISMATCH', 'hostname mismatch'],
    ] as const
  )
    .slice()
    .sort((a, b) => b[1].length - a[1].length),
);

/**
 * OpenSSL 3 libraries (ERR_LIB_*) whose errors are about certificates, keys or the TLS protocol: PEM 9, X509 11,
 * ASN1 13, SSL 20, X509V3 34, OSSL_DECODER 60.
 */
const TLS_LIBRARIES = new Set([9, 11, 13, 20, 34, 60]);

/** The error's code when it is a TLS one (Node's TLS layer, OpenSSL, a certificate verification result); else undefined. */
export function tlsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') || X509_VERIFY_ERRORS.has(code) ? code : undefined;
}

/**
 * The TLS failure named in the text of an error whose code did not survive, as a code: Node's own "Error
 * [ERR_TLS_…]:", OpenSSL's packed error number ("error:0A00045C:", library and reason in one number) when its
 * library is one of TLS_LIBRARIES, or the text of a verification result. Undefined when the text names none.
 *
 * For etcd this is all there is. @grpc/grpc-js 1.14.7 keeps no code of a failed connection: the subchannel turns
 * the connection's Error into text (src/subchannel.ts:301, `${error}`; an error of the HTTP/2 session is text
 * already, src/transport.ts:756), the pick-first balancer puts that text into the UNAVAILABLE status's details
 * ("No connection established. Last error: …", src/load-balancer-pick-first.ts:283), and etcd3 1.1.2 builds its
 * error from the message alone (castGrpcError in lib/errors.js). The grpc status code (UNAVAILABLE) says only that
 * no connection was made.
 */
export function tlsCodeInText(text: string): string | undefined {
  const named = /\[(ERR_(?:TLS|SSL|OSSL)_[A-Z0-9_]+)\]/.exec(text);
  if (named) return named[1];
  for (const m of text.matchAll(/\berror:([0-9A-F]{8}):/g)) {
    const packed = parseInt(m[1]!, 16);
    // The top bit marks a system error (errno), which carries no library.
    if ((packed & 0x80000000) === 0 && TLS_LIBRARIES.has((packed >>> 23) & 0xff)) return `OpenSSL error ${m[1]}`;
  }
  for (const [code, text_] of X509_VERIFY_ERRORS) {
    if (text.includes(text_)) return code;
  }
  return undefined;
}
