"""The deterministic catalog both fake platforms are seeded from.

One seller, one catalog: TikTok Shop lists the products, Amazon FBA holds (some of) the stock. The mix is
chosen so every cross-channel case shows up: SKUs with plenty of FBA stock, SKUs that are short, SKUs
that FBA does not hold at all, and SKUs that exist only on Amazon (stranded stock).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

SEED = 20261122

#: TikTok warehouses of the sandbox seller (id, name, is_default).
WAREHOUSES: tuple[tuple[str, str, bool], ...] = (
    ("7301000000000000001", "Main Warehouse (Los Angeles)", True),
    ("7301000000000000002", "East Coast Overflow (Newark)", False),
    ("7301000000000000003", "Returns Hub (Dallas)", False),
)

_NOUNS = (
    "Tumbler",
    "Phone Case",
    "Yoga Mat",
    "Scrunchie Set",
    "LED Strip",
    "Hoodie",
    "Water Bottle",
    "Sunglasses",
    "Lip Oil",
    "Face Serum",
    "Desk Lamp",
    "Backpack",
    "Sock Pack",
    "Claw Clip",
    "Mini Fan",
    "Cable Organizer",
    "Tote Bag",
    "Hair Dryer Brush",
    "Lash Serum",
    "Candle",
)
_ADJECTIVES = (
    "Insulated",
    "Matte",
    "Eco",
    "Velvet",
    "Smart",
    "Oversized",
    "Leakproof",
    "Polarized",
    "Hydrating",
    "Glow",
    "Foldable",
    "Travel",
    "Cozy",
    "Minimal",
    "Pastel",
    "Pro",
    "Classic",
)
_VARIANTS = ("Black", "White", "Pink", "Sage", "Blue", "Small", "Large")


@dataclass(frozen=True)
class FbaStock:
    """What Amazon FBA holds for one seller SKU."""

    fulfillable: int
    inbound: int
    reserved: int
    unfulfillable: int
    asin: str
    fnsku: str


@dataclass(frozen=True)
class CatalogSku:
    seller_sku: str
    sku_id: str
    product_id: str
    variant: str
    sale_price: str
    currency: str
    #: TikTok available quantity per warehouse id.
    tiktok_stock: dict[str, int]
    fba: FbaStock | None


@dataclass(frozen=True)
class CatalogProduct:
    product_id: str
    title: str
    status: str
    create_time: int
    update_time: int
    skus: tuple[CatalogSku, ...]


@dataclass(frozen=True)
class AmazonOnlySku:
    """FBA stock the TikTok shop does not list."""

    seller_sku: str
    title: str
    fba: FbaStock


@dataclass(frozen=True)
class Catalog:
    products: tuple[CatalogProduct, ...]
    amazon_only: tuple[AmazonOnlySku, ...]
    by_seller_sku: dict[str, CatalogSku] = field(default_factory=dict)

    def all_skus(self) -> list[CatalogSku]:
        return [sku for product in self.products for sku in product.skus]


def _fba(rng: random.Random, n: int, fulfillable: int) -> FbaStock:
    return FbaStock(
        fulfillable=fulfillable,
        inbound=rng.choice((0, 0, 0, 24, 48, 120)),
        reserved=rng.randint(0, 4),
        unfulfillable=rng.choice((0, 0, 0, 1, 2)),
        asin=f"B0SBX{n:05d}",
        fnsku=f"X00SBX{n:04d}",
    )


DEFAULT_PRODUCTS = 220


@cache
def build_catalog(seed: int = SEED, products_count: int = DEFAULT_PRODUCTS) -> Catalog:
    """Return the sandbox catalog: 220 products, ~550 SKUs, plus 25 Amazon-only SKUs. Deterministic.

    ``products_count`` sizes a bigger (or smaller) world for benchmarks; the first products are the
    same whatever the size, and the default is what the tests' seed data relies on.
    """
    rng = random.Random(seed)
    base_time = (
        1_760_000_000  # 2025-10-09, a fixed anchor so the catalog never changes between runs
    )
    products: list[CatalogProduct] = []
    by_sku: dict[str, CatalogSku] = {}
    sku_counter = 0
    for index in range(products_count):
        product_id = str(1_731_000_000_000_000_000 + index * 7919)
        title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        status = "ACTIVATE" if index % 23 else rng.choice(("SELLER_DEACTIVATED", "DRAFT"))
        variant_count = 2 + (index % 3 == 0)
        variants = rng.sample(_VARIANTS, variant_count)
        price = f"{rng.randint(7, 79)}.{rng.choice(('99', '49', '00', '95'))}"
        skus: list[CatalogSku] = []
        for variant in variants:
            sku_counter += 1
            seller_sku = f"TS-{index + 1:04d}-{variant[:3].upper()}"
            warehouses = WAREHOUSES[: 1 + (sku_counter % 4 == 0) + (sku_counter % 9 == 0)]
            tiktok_stock = {wid: rng.randint(0, 150) for wid, _, _ in warehouses}
            bucket = sku_counter % 10
            fba: FbaStock | None
            if bucket < 6:
                fba = _fba(rng, sku_counter, rng.randint(40, 600))  # plentiful
            elif bucket < 8:
                fba = _fba(rng, sku_counter, rng.randint(0, 3))  # short
            else:
                fba = None  # not stocked in FBA at all
            sku = CatalogSku(
                seller_sku=seller_sku,
                sku_id=str(1_732_000_000_000_000_000 + sku_counter * 104_729),
                product_id=product_id,
                variant=variant,
                sale_price=price,
                currency="USD",
                tiktok_stock=tiktok_stock,
                fba=fba,
            )
            skus.append(sku)
            by_sku[seller_sku] = sku
        created = base_time + index * 3_607
        products.append(
            CatalogProduct(
                product_id=product_id,
                title=title,
                status=status,
                create_time=created,
                update_time=created + rng.randint(0, 86_400 * 30),
                skus=tuple(skus),
            )
        )
    amazon_only = tuple(
        AmazonOnlySku(
            seller_sku=f"AMZ-ONLY-{n:03d}",
            title=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} (Amazon bundle)",
            fba=_fba(rng, 9000 + n, rng.randint(5, 300)),
        )
        for n in range(1, 26)
    )
    return Catalog(products=tuple(products), amazon_only=amazon_only, by_seller_sku=by_sku)
