"""Small .pth fixtures that PyTorch 1.13 writes, for Striate's .pth reader tests (the tests never need python).

Run from the repository root:  /usr/bin/python3 tests/reference/pth/make_pth_fixtures.py [OUT]   (OUT defaults to
this folder). Everything is seeded, so a rerun with the same PyTorch writes the same tensors.

  views.pth, views_legacy.pth         a state dict of every dtype Striate reads (F32 F64 F16 BF16 I64 I32 I16 I8 U8
                                      BOOL), a 0-d tensor, an empty tensor, num_batches_tracked, five views of ONE
                                      storage (transpose, row at an offset, strided column, block, expand with stride 0),
                                      in the zip format and the pre-1.6 legacy format
  views_p1.pth, views_p4.pth          the same state dict pickled with protocol 1 (text INT, no TUPLEn) and protocol 4
                                      (FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE)
  views_deflated.pth                  the same archive rewritten with deflated entries (python's zipfile)
  views_zip64.pth                     the same archive rewritten with zip64 records everywhere (python's zipfile with
                                      its zip64 thresholds forced to 0)
  views_bigendian.pth                 the same archive with every storage byte-swapped and a byteorder record "big",
                                      as torch >= 2.1 writes on a big-endian machine
  views.expected.safetensors          each tensor of views.pth made contiguous: floats as F64, integers and bools as I64
  nested.pth                          {"model", "model_ema", "optimizer", "lr_scheduler", "epoch", "args"
                                      (argparse.Namespace), "best_acc1" (a numpy scalar), and plain python values}
  checkpoint.pth                      torchvision's references/classification/train.py checkpoint: {"model",
                                      "optimizer", "lr_scheduler", "epoch", "args"}: exactly one state dict
  densenet_old_keys.pth               old torchvision DenseNet names (denselayer1.norm.1.weight)
  lenet_relu_f16.pth                  Striate's lenet-relu (d2l LeNet with ReLU, max pooling) as a float16 state dict,
  lenet_relu_f16.io.safetensors       with an input [2, 1, 28, 28] and the logits PyTorch computes with those weights
  evil_*.pth                          hostile files; each would create a file named PWNED in the working directory if
                                      it were unpickled by python: os.system (protocol 2 and the text INST opcode),
                                      builtins.eval (protocol 2 and protocol 4), a whole module saved with torch.save in
                                      both formats, a state dict of Parameters (keep_vars=True), and a storage
                                      reference that is not a storage
"""
import argparse, collections, io, os, pickle, struct, sys, zipfile
import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- a minimal safetensors writer (F64 and I64 only: exact expected values) ----------------------------------
def save_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if name.startswith('__'):  # model inputs and logits stay F32
            code, b = 'F32', t.float().numpy().tobytes()
        elif t.is_floating_point():
            code, b = 'F64', t.double().numpy().tobytes()
        else:
            code, b = 'I64', t.long().numpy().tobytes()
        header[name] = {'dtype': code, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    if metadata: header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    import json
    h = json.dumps(header, separators=(',', ':')).encode(); h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h); [f.write(b) for b in blobs]


def views_state_dict():
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd['f32'] = torch.randn(2, 3, generator=g)
    sd['f64'] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    sd['f16'] = torch.randn(5, generator=g).half()
    sd['bf16'] = torch.randn(5, generator=g).bfloat16()
    sd['i64'] = torch.tensor([0, -1, 7, 2 ** 40 + 3, -(2 ** 50)], dtype=torch.int64)
    sd['i32'] = torch.tensor([1, -2, 2 ** 31 - 1, -(2 ** 31)], dtype=torch.int32)
    sd['i16'] = torch.tensor([3, -4, 32767, -32768], dtype=torch.int16)
    sd['i8'] = torch.tensor([5, -6, 127, -128], dtype=torch.int8)
    sd['u8'] = torch.tensor([0, 7, 128, 255], dtype=torch.uint8)
    sd['bool'] = torch.tensor([True, False, True])
    sd['scalar'] = torch.tensor(3.5)
    sd['empty'] = torch.zeros(0, 3)
    sd['bn.num_batches_tracked'] = torch.tensor(1000)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) + 0.25
    sd['shared.base'] = base                  # storage offset 0, strides (4, 1)
    sd['shared.t'] = base.t()                 # strides (1, 4)
    sd['shared.row'] = base[1]                # storage offset 4
    sd['shared.col'] = base[:, 2]             # storage offset 2, stride 4
    sd['shared.block'] = base[1:, 1:3]        # storage offset 5, strides (4, 1)
    sd['expanded'] = torch.arange(3, dtype=torch.float32).reshape(3, 1).expand(3, 4)  # strides (1, 0)
    return sd


def rewrite_zip(src, dst, compression=zipfile.ZIP_STORED, transform=None, extra=None):
    zin = zipfile.ZipFile(src)
    with zipfile.ZipFile(dst, 'w', compression) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if transform: data = transform(item.filename, data)
            zout.writestr(item.filename, data, compress_type=compression)
        for name, data in (extra or {}).items():
            zout.writestr(name, data, compress_type=compression)


def torch_zip(path, payload, prefix='archive'):
    """A valid torch zip whose data.pkl is replaced by payload (the storages of a 2x2 float tensor stay in)."""
    good = io.BytesIO(); torch.save({'fc.weight': torch.zeros(2, 2)}, good)
    zin = zipfile.ZipFile(io.BytesIO(good.getvalue()))
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('data.pkl'): data = payload
            zout.writestr(item.filename, data)


class Sys:  # os.system("touch PWNED"), pickled as posix.system
    def __reduce__(self): return (os.system, ('touch PWNED',))


class Ev:   # eval(...), pickled as __builtin__.eval (protocol 2) or builtins.eval (protocol 4)
    def __reduce__(self): return (eval, ("open('PWNED','w').write('x')",))


def lenet_relu():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('out', nargs='?', default=HERE)
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)

    sd = views_state_dict()
    torch.save(sd, p('views.pth'))
    torch.save(sd, p('views_legacy.pth'), _use_new_zipfile_serialization=False)
    torch.save(sd, p('views_p1.pth'), pickle_protocol=1)
    torch.save(sd, p('views_p4.pth'), pickle_protocol=4)
    save_safetensors(p('views.expected.safetensors'), sd, {'source': 'views.pth'})
    rewrite_zip(p('views.pth'), p('views_deflated.pth'), zipfile.ZIP_DEFLATED)
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 0
    try:
        rewrite_zip(p('views.pth'), p('views_zip64.pth'))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits

    # Big-endian: every storage byte-swapped by its element size, plus the byteorder record torch >= 2.1 writes.
    sizes = {}
    class Spy(pickle.Unpickler):  # collects each storage key's element size without rebuilding anything
        def find_class(self, mod, name):
            if name.endswith('Storage'): return name
            if (mod, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
            return lambda *args: None
        def persistent_load(self, pid):
            typename, storage_type, key, location, numel = pid
            sizes[key] = {'FloatStorage': 4, 'DoubleStorage': 8, 'HalfStorage': 2, 'BFloat16Storage': 2, 'LongStorage': 8,
                          'IntStorage': 4, 'ShortStorage': 2, 'CharStorage': 1, 'ByteStorage': 1, 'BoolStorage': 1}[storage_type]
    Spy(io.BytesIO(zipfile.ZipFile(p('views.pth')).read('views/data.pkl'))).load()
    def swap(name, data):
        if '/data/' not in name: return data
        size = sizes[name.rsplit('/', 1)[1]]
        if size == 1: return data
        return np.frombuffer(data, dtype=f'<u{size}').byteswap().tobytes()
    rewrite_zip(p('views.pth'), p('views_bigendian.pth'), transform=swap, extra={'views/byteorder': b'big'})

    # Nested checkpoints.
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 3))
    ema = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 1, 3, 3)).sum().backward(); opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, 30)
    cli_args = argparse.Namespace(lr=0.1, model='tiny', epochs=90)
    torch.save({'model': net.state_dict(), 'model_ema': ema.state_dict(), 'optimizer': opt.state_dict(),
                'lr_scheduler': sched.state_dict(), 'epoch': 3, 'args': cli_args, 'best_acc1': np.float64(0.75),
                'note': 'text', 'raw': b'\x00\x01', 'tags': {1, 2}, 'mixed': (1, 2.5, None, True), 'big': 2 ** 80,
                'neg': -5}, p('nested.pth'))
    torch.save({'model': net.state_dict(), 'optimizer': opt.state_dict(), 'lr_scheduler': sched.state_dict(),
                'epoch': 3, 'args': cli_args}, p('checkpoint.pth'))
    save_safetensors(p('nested.expected.safetensors'), {**{'model.' + k: v for k, v in net.state_dict().items()},
                                                        **{'model_ema.' + k: v for k, v in ema.state_dict().items()}})

    # torchvision's DenseNet before 0.3 named its layers norm.1 / relu.1 / conv.1; _load_state_dict renames them.
    old = collections.OrderedDict()
    for i, name in enumerate(['features.conv0.weight', 'features.denseblock1.denselayer1.norm.1.weight',
                              'features.denseblock1.denselayer1.norm.1.running_var',
                              'features.denseblock1.denselayer1.conv.1.weight',
                              'features.denseblock1.denselayer1.norm.2.bias',
                              'features.denseblock1.denselayer1.conv.2.weight',
                              'features.denseblock2.denselayer12.norm.1.num_batches_tracked',
                              'features.transition1.norm.weight', 'classifier.weight']):
        old[name] = torch.full((2,), float(i)) if 'num_batches' not in name else torch.tensor(7)
    torch.save(old, p('densenet_old_keys.pth'))

    # A real model: lenet-relu in float16, with the logits PyTorch computes from exactly those (rounded) weights.
    torch.manual_seed(2)
    lenet = lenet_relu().half()
    torch.save(lenet.state_dict(), p('lenet_relu_f16.pth'))
    lenet = lenet.float().eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad(): y = lenet(x)
    save_safetensors(p('lenet_relu_f16.io.safetensors'), {'__input__': x, '__logits__': y}, {'model': 'lenet-relu'})

    # Hostile files.
    torch_zip(p('evil_os_system.pth'), pickle.dumps({'fc.weight': Sys()}, protocol=2))
    torch_zip(p('evil_inst.pth'), b"(S'touch PWNED'\nios\nsystem\n.")   # protocol 0: INST calls os.system
    torch_zip(p('evil_eval.pth'), pickle.dumps(Ev(), protocol=2))
    torch_zip(p('evil_eval_p4.pth'), pickle.dumps({'w': Ev()}, protocol=4))
    torch.save(nn.Linear(2, 2), p('evil_module.pth'))
    torch.save(nn.Linear(2, 2), p('evil_module_legacy.pth'), _use_new_zipfile_serialization=False)
    torch.save(nn.Linear(2, 2).state_dict(keep_vars=True), p('evil_parameter.pth'))
    # A storage reference whose storage type is os.system: the persistent id must hold a storage class.
    torch_zip(p('evil_storage_type.pth'),
              b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagecposix\nsystem\n"
              b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.")
    for name in sorted(os.listdir(out)):
        if name.endswith(('.pth', '.safetensors')): print(f'{os.path.getsize(p(name)):8d} {name}')


if __name__ == '__main__':
    main()
