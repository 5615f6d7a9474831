"""CURVE for the pyzmq test peers, from the key files `baton keygen` writes (docs/security.md):
PREFIX.key holds `public-key = Z85` and `secret-key = Z85` lines, PREFIX.pub the public key alone."""
import zmq


def add_curve_arguments(parser):
    parser.add_argument("--server-key", help="the broker's PREFIX.pub: connect with CURVE")
    parser.add_argument("--curve-key", help="this peer's PREFIX.key")


def key_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]


def use_curve(socket, args):
    if not args.server_key:
        return
    fields = dict(line.split("=", 1) for line in key_lines(args.curve_key))
    fields = {name.strip(): value.strip() for name, value in fields.items()}
    socket.setsockopt(zmq.CURVE_SERVERKEY, key_lines(args.server_key)[0].encode())
    socket.setsockopt(zmq.CURVE_PUBLICKEY, fields["public-key"].encode())
    socket.setsockopt(zmq.CURVE_SECRETKEY, fields["secret-key"].encode())
