// Signs sign-in messages with real wallet libraries, for the end-to-end
// tests of wallet sessions (tests/api/e2e_wallet_sessions_test.cpp).
//
//   node wallet_sign.js address <chain> <private key hex> [network]
//   node wallet_sign.js sign <chain> <private key hex> [variant] < message
//   node wallet_sign.js sip018 stacks <private key hex> <name> <version> <chain id> < message
//
// chain: ethereum (ethers v6: EIP-191 personal_sign), solana (tweetnacl:
// Ed25519 over the UTF-8 bytes, bs58 addresses and signatures), stacks
// (@stacks/encryption hashMessage + @stacks/transactions signMessageHashRsv,
// c32check addresses). variant "high-s" (ethereum only) turns the signature
// into its high-S twin (s' = n - s, v flipped): valid for plain ECDSA, refused
// by EIP-2 rules. Mode sip018 signs the message as SIP-018 structured data
// with @stacks/transactions signStructuredData: the message a Clarity
// string-ascii value (string-utf8 if it is not ASCII), the domain the tuple
// {name, version, chain-id}. Prints one line: the address, or the signature.
'use strict';
const path = require('path');
const modules = path.join(__dirname, '..', 'node_modules');
const req = (name) => require(path.join(modules, name));

function ethereum(keyHex) {
  const { Wallet } = req('ethers');
  return new Wallet('0x' + keyHex);
}

function solanaPair(keyHex) {
  const nacl = req('tweetnacl');
  return nacl.sign.keyPair.fromSeed(Buffer.from(keyHex, 'hex'));
}

// Stacks wallets use compressed keys: the private key carries the 01 suffix.
const stacksKey = (keyHex) => keyHex + '01';

function stacksAddress(keyHex, network) {
  const tx = req('@stacks/transactions');
  const version = network === 'testnet' ? tx.TransactionVersion.Testnet : tx.TransactionVersion.Mainnet;
  return tx.getAddressFromPrivateKey(stacksKey(keyHex), version);
}

async function address(chain, keyHex, network) {
  if (chain === 'ethereum') return ethereum(keyHex).address;
  if (chain === 'solana') return req('bs58').encode(Buffer.from(solanaPair(keyHex).publicKey));
  if (chain === 'stacks') return stacksAddress(keyHex, network);
  throw new Error('unknown chain ' + chain);
}

function highS(sigHex) {
  const n = BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141');
  const bytes = Buffer.from(sigHex.slice(2), 'hex');
  const s = BigInt('0x' + bytes.subarray(32, 64).toString('hex'));
  const flipped = (n - s).toString(16).padStart(64, '0');
  const v = bytes[64] === 27 ? 28 : 27;
  return '0x' + bytes.subarray(0, 32).toString('hex') + flipped + v.toString(16);
}

async function sign(chain, keyHex, variant, message) {
  if (chain === 'ethereum') {
    const sig = await ethereum(keyHex).signMessage(message);
    return variant === 'high-s' ? highS(sig) : sig;
  }
  if (chain === 'solana') {
    const nacl = req('tweetnacl');
    const sig = nacl.sign.detached(Buffer.from(message, 'utf8'), solanaPair(keyHex).secretKey);
    return req('bs58').encode(Buffer.from(sig));
  }
  if (chain === 'stacks') {
    const { hashMessage } = req('@stacks/encryption');
    const tx = req('@stacks/transactions');
    const hash = Buffer.from(hashMessage(message)).toString('hex');
    const sig = tx.signMessageHashRsv({ messageHash: hash, privateKey: tx.createStacksPrivateKey(stacksKey(keyHex)) });
    return sig.data;
  }
  throw new Error('unknown chain ' + chain);
}

function sip018(keyHex, name, version, chainId, message) {
  const tx = req('@stacks/transactions');
  const ascii = /^[\x00-\x7f]*$/.test(message);
  const domain = tx.tupleCV({
    name: tx.stringAsciiCV(name),
    version: tx.stringAsciiCV(version),
    'chain-id': tx.uintCV(BigInt(chainId)),
  });
  const value = ascii ? tx.stringAsciiCV(message) : tx.stringUtf8CV(message);
  const privateKey = tx.createStacksPrivateKey(stacksKey(keyHex));
  return tx.signStructuredData({ message: value, domain, privateKey }).data;
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const [mode, chain, keyHex, extra, ...rest] = process.argv.slice(2);
  if (mode === 'address') return address(chain, keyHex, extra);
  if (mode === 'sip018' && chain === 'stacks') return sip018(keyHex, extra, rest[0], rest[1], await readStdin());
  if (mode === 'sign') {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    return sign(chain, keyHex, extra, Buffer.concat(chunks).toString('utf8'));
  }
  throw new Error('usage: wallet_sign.js address|sign <chain> <key hex> [network|variant]');
}

main().then((out) => process.stdout.write(out + '\n'), (e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(2);
});
