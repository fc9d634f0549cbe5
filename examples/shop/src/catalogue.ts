/** The products the inventory starts with (stock large enough for any bounded load run). */
export const CATALOGUE = Array.from({ length: 24 }, (_, i) => ({
  sku: `sku-${String(i + 1).padStart(3, '0')}`,
  name: `Product ${i + 1}`,
  price_cents: 500 + ((i * 737) % 9500),
}));
