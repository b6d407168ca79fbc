"""The Factur-X XML CAERP embeds in a validated invoice PDF, wrong for Chorus Pro in CAERP's ways:
type code 380 even on a credit note, the due date set to the invoice date, no service code (BT-10)
nor engagement (BT-13), the buyer's identifier under scheme 0002 whatever it is."""

from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
  <ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
 </rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">{day}</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>{seller}</ram:Name></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>{buyer}</ram:Name>
    <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">{buyer_id}</ram:ID></ram:SpecifiedLegalOrganization>
   </ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
    <udt:DateTimeString format="102">{day}</udt:DateTimeString></ram:DueDateDateTime>
   </ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>{ht}</ram:TaxBasisTotalAmount>
    <ram:GrandTotalAmount>{ttc}</ram:GrandTotalAmount>
    <ram:DuePayableAmount>{ttc}</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""


def caerp_facturx_xml(
    *,
    number: str,
    day: date,
    seller: str,
    buyer: str,
    buyer_id: str,
    ht_cents: int,
    ttc_cents: int,
) -> bytes:
    """The XML as CAERP writes it (amounts signed as in its export: negative on a credit note)."""
    return _TEMPLATE.format(
        number=escape(number),
        day=day.strftime("%Y%m%d"),
        seller=escape(seller),
        buyer=escape(buyer),
        buyer_id=escape(buyer_id),
        ht=f"{ht_cents / 100:.2f}",
        ttc=f"{ttc_cents / 100:.2f}",
    ).encode("utf-8")
