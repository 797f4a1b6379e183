"""Forward and forward+backward time per clip on CPU for the segment models.

    python benchmarks/model_speed.py [--models manet_r18,manet_r50] [--size 224] [--batch 2]
"""

import argparse

import torch

from microaction.models import create_model
from timing import median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tsn_r18,tsm_r18,manet_r18,manet_r50")
    ap.add_argument("--sizes", default="112,224")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"8 segments, channels_last, fp32")
    print(f"{'model':<10} {'px':>4} {'fwd ms/clip':>12} {'fwd+bwd ms/clip':>16}")
    for name in args.models.split(","):
        for size in map(int, args.sizes.split(",")):
            model = create_model(name, size=size).to(memory_format=torch.channels_last)
            x = torch.randn(args.batch, 3, 8, size, size)
            y = torch.randint(0, 52, (args.batch,))
            model.eval()
            with torch.no_grad():
                fwd = median_ms(lambda: model(x), args.repeats)
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=1e-3)

            def step():
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x).logits, y).backward()
                opt.step()

            both = median_ms(step, args.repeats)
            print(f"{name:<10} {size:>4} {fwd / args.batch:>12.0f} "
                  f"{both / args.batch:>16.0f}", flush=True)


if __name__ == "__main__":
    main()
