"""MAX (MaiCoin) exchange clients."""
